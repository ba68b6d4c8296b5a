using System.Net;

namespace Postbote.Security.Spf;

/// <summary>The arguments of <c>check_host(&lt;ip&gt;, &lt;domain&gt;, &lt;sender&gt;)</c> (RFC 7208 §4.1) and the facts
/// the macros need (§7.2).</summary>
/// <param name="Client">The SMTP client's address, <c>&lt;ip&gt;</c>; an IPv4-mapped IPv6 address is taken as IPv4 (§5).</param>
/// <param name="Sender">The identity checked: the MAIL FROM address <c>local@domain</c>, or <c>postmaster@</c> the HELO
/// name for the null reverse-path or the HELO check (§2.3, §4.3).</param>
/// <param name="HeloName">The HELO/EHLO domain (macro <c>%{h}</c>).</param>
/// <param name="ReceivingHost">This host's name (macro <c>%{r}</c>, explanation only).</param>
public sealed record SpfRequest(IPAddress Client, string Sender, string HeloName, string ReceivingHost)
{
    /// <summary>The request for a MAIL FROM identity, or, for the null reverse-path, the HELO identity (RFC 7208 §2.3:
    /// "When the reverse-path is null, this document defines the "MAIL FROM" identity to be the mailbox composed of the
    /// local-part "postmaster" and the "HELO" identity").</summary>
    /// <param name="client">The client's address.</param>
    /// <param name="mailFrom">The reverse-path address, <c>null</c> for <c>&lt;&gt;</c>.</param>
    /// <param name="heloName">The HELO/EHLO name, <c>""</c> when none was given.</param>
    /// <param name="receivingHost">This host's name.</param>
    /// <returns>The request.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> is <c>null</c>.</exception>
    public static SpfRequest ForMailFrom(IPAddress client, string? mailFrom, string? heloName, string receivingHost)
    {
        ArgumentNullException.ThrowIfNull(client);
        string helo = heloName ?? "";
        return new SpfRequest(client, string.IsNullOrEmpty(mailFrom) ? "postmaster@" + helo : mailFrom, helo, receivingHost);
    }

    /// <summary>The local-part of <see cref="Sender"/>; <c>postmaster</c> when it has none (RFC 7208 §4.3: "If the
    /// &lt;sender&gt; has no local-part, substitute the string "postmaster" for the local-part.").</summary>
    public string LocalPart
    {
        get
        {
            int at = Sender.LastIndexOf('@');
            string local = at < 0 ? "" : Sender[..at];
            return local.Length == 0 ? "postmaster" : local;
        }
    }

    /// <summary>The domain of <see cref="Sender"/>: what follows its last <c>@</c>, or the whole when it has none.</summary>
    public string Domain
    {
        get
        {
            int at = Sender.LastIndexOf('@');
            return at < 0 ? Sender : Sender[(at + 1)..];
        }
    }
}
