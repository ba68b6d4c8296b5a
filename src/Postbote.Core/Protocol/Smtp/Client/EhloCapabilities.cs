namespace Postbote.Protocol.Smtp.Client;

/// <summary>
/// What a server said about itself in its reply to EHLO (RFC 5321 §4.1.1.1) or LHLO (RFC 2033 §4.1): its name and the
/// service extensions it offers, as <see cref="EhloKeywordReader"/> read them.
/// </summary>
/// <param name="Domain">The server's name, the first word of the first line (RFC 5321 §4.1.1.1: <c>"250" SP Domain
/// [ SP ehlo-greet ]</c>); empty when the line has none.</param>
/// <param name="Extensions">The extensions Postbote knows that the server offers.</param>
/// <param name="SizeLimit">The largest message the server takes, in octets, from <c>SIZE n</c> (RFC 1870 §4);
/// <c>null</c> when SIZE is not offered, is offered without a number, or with 0, which RFC 1870 §4 defines as "no fixed
/// maximum message size is in force".</param>
/// <param name="AuthMechanisms">The SASL mechanisms of <c>AUTH</c> (RFC 4954 §3) and of the older <c>AUTH=</c> form,
/// upper-case, each once, in the order offered.</param>
/// <param name="Keywords">Every EHLO keyword of the reply, upper-case, in the order offered, including those Postbote
/// does not know (for logs).</param>
public sealed record EhloCapabilities(
    string Domain,
    SmtpExtensions Extensions,
    long? SizeLimit,
    IReadOnlyList<string> AuthMechanisms,
    IReadOnlyList<string> Keywords)
{
    /// <summary>What a server offers that answered HELO, or EHLO with a single line: no extension at all.</summary>
    public static readonly EhloCapabilities None = new(string.Empty, SmtpExtensions.None, null, [], []);

    /// <summary>Whether the server offers every extension in <paramref name="extensions"/>.</summary>
    /// <param name="extensions">One extension or several.</param>
    /// <returns><c>true</c> when all of them are offered.</returns>
    public bool Offers(SmtpExtensions extensions) => (Extensions & extensions) == extensions;

    /// <summary>Whether the server offers the SASL mechanism <paramref name="mechanism"/> (case-insensitive, RFC 4954 §3).</summary>
    /// <param name="mechanism">A mechanism name such as <c>PLAIN</c>.</param>
    /// <returns><c>true</c> when offered.</returns>
    public bool OffersAuth(string mechanism)
    {
        foreach (string m in AuthMechanisms)
        {
            if (string.Equals(m, mechanism, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }
}
