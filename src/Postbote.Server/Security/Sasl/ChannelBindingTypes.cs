namespace Postbote.Security.Sasl;

/// <summary>The channel-binding types (RFC 5056 §2.1) that SCRAM-SHA-256-PLUS accepts, as keys of
/// <see cref="SaslContext.ChannelBindings"/>.</summary>
public static class ChannelBindingTypes
{
    /// <summary><c>tls-exporter</c> (RFC 9266): 32 bytes exported with the label "EXPORTER-Channel-Binding"; the type for
    /// TLS 1.3.</summary>
    public const string TlsExporter = "tls-exporter";

    /// <summary><c>tls-server-end-point</c> (RFC 5929 §4): the hash of the server's certificate.</summary>
    public const string TlsServerEndPoint = "tls-server-end-point";

    /// <summary><c>tls-unique</c> (RFC 5929 §3): the first Finished message of the handshake; TLS 1.2 and earlier only.</summary>
    public const string TlsUnique = "tls-unique";

    /// <summary>All three, in order of preference.</summary>
    public static IReadOnlyList<string> All { get; } = [TlsExporter, TlsServerEndPoint, TlsUnique];

    /// <summary>Whether the connection has data for at least one supported type.</summary>
    /// <param name="context">The connection.</param>
    /// <returns><c>true</c> when SCRAM-SHA-256-PLUS can run.</returns>
    public static bool AnyAvailable(SaslContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (string type in All)
        {
            if (context.ChannelBindings.TryGetValue(type, out byte[]? data) && data is { Length: > 0 }) return true;
        }
        return false;
    }
}
