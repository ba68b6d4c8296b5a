namespace Postbote.Security.Sasl;

/// <summary>A SASL mechanism the server offers after <c>AUTH</c> in EHLO (RFC 4954 §3).</summary>
public interface ISaslMechanism
{
    /// <summary>The registered mechanism name, e.g. <c>PLAIN</c>, <c>SCRAM-SHA-256-PLUS</c>.</summary>
    string Name { get; }

    /// <summary>Whether the mechanism sends the password in clear (PLAIN, LOGIN): offered only under TLS unless the
    /// listener allows plaintext authentication.</summary>
    bool IsPlaintext { get; }

    /// <summary>Whether the mechanism can run on this connection (e.g. <c>-PLUS</c> needs channel-binding data).</summary>
    /// <param name="context">The connection.</param>
    /// <returns><c>true</c> when it may be offered.</returns>
    bool IsAvailable(SaslContext context);

    /// <summary>Starts an exchange.</summary>
    /// <param name="context">The connection.</param>
    /// <returns>The exchange.</returns>
    ISaslExchange Start(SaslContext context);
}
