using System.Text;
using Postbote.Core;
using Postbote.Protocol.Smtp.Client;
using Postbote.Queue;

namespace Postbote.Delivery.Dsn;

/// <summary>
/// The values of the <c>message/delivery-status</c> fields (RFC 3464 §2.2, §2.3), from what the queue recorded. Every
/// value is printable US-ASCII: the delivery-status body is 7-bit (RFC 3464 §2.1.2), so a value never breaks a line or the
/// part.
/// </summary>
internal static class DsnFields
{
    /// <summary>The enhanced status code of a failure whose last reply was transient (the lifetime ran out) and carried
    /// none: RFC 3463 §3.5 X.4.7 "Delivery time expired", class 4.</summary>
    public static readonly EnhancedStatusCode Expired = new(4, 4, 7);

    /// <summary>The <c>Action</c> value (RFC 3464 §2.3.3).</summary>
    public static string Action(DsnAction action) => action switch
    {
        DsnAction.Failed => "failed",
        DsnAction.Delayed => "delayed",
        DsnAction.Delivered => "delivered",
        DsnAction.Relayed => "relayed",
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, "Not a DSN action."),
    };

    /// <summary>
    /// The <c>Status</c> (RFC 3464 §2.3.4: "the status code ... MUST be" an RFC 3463 code) for a recipient with the given
    /// action and last reply. The reply's own enhanced code when its class fits the action; else the class's undefined
    /// code (2.0.0, 4.0.0, 5.0.0). A failure whose last reply was a 4yz (the message's lifetime ran out while it was
    /// deferred) keeps class 4: RFC 3463 §3.1 "If this code accompanies a delivery failure report, sending in the future
    /// may be successful", and §3.5 for X.4.7 "the code for the actual problem found when delivery was attempted should be
    /// returned rather than this code"; so it is the reply's 4.x.x, or 4.4.7 when the reply had none.
    /// </summary>
    public static EnhancedStatusCode Status(DsnAction action, string? lastReply)
    {
        (int code, EnhancedStatusCode? status) = ParseReply(lastReply);
        int replyClass = code / 100;
        switch (action)
        {
            case DsnAction.Failed when replyClass == 4:
                return status is { Class: 4 } s4 ? s4 : Expired;
            case DsnAction.Failed:
                return status is { Class: 5 } s5 ? s5 : new EnhancedStatusCode(5, 0, 0);
            case DsnAction.Delayed:
                return status is { Class: 4 } d4 ? d4 : new EnhancedStatusCode(4, 0, 0);
            default:
                return status is { Class: 2 } s2 ? s2 : EnhancedStatusCode.Success;
        }
    }

    /// <summary>Reads the reply code and the enhanced status code off a stored reply line such as
    /// <c>550 5.1.1 no such user</c> (or <c>550-5.1.1 ...</c> for a multi-line reply stored on one line).</summary>
    /// <returns>The code (0 when there is none) and the enhanced code (RFC 3463 §2), or <c>null</c>.</returns>
    public static (int Code, EnhancedStatusCode? Status) ParseReply(string? reply)
    {
        if (reply is null || reply.Length < 3 || !char.IsAsciiDigit(reply[0]) || !char.IsAsciiDigit(reply[1]) || !char.IsAsciiDigit(reply[2]))
        {
            return (0, null);
        }
        int code = (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
        if (reply.Length < 5 || reply[3] is not (' ' or '-')) return (code, null);
        ReadOnlySpan<char> rest = reply.AsSpan(4);
        int end = rest.IndexOf(' ');
        ReadOnlySpan<char> token = end < 0 ? rest : rest[..end];
        Span<Range> parts = stackalloc Range[4];
        if (token.Split(parts, '.') != 3) return (code, null);
        if (!TryNumber(token[parts[0]], 1, out int cls) || cls is not (2 or 4 or 5) || cls != code / 100) return (code, null);
        if (!TryNumber(token[parts[1]], 3, out int subject) || !TryNumber(token[parts[2]], 3, out int detail)) return (code, null);
        return (code, new EnhancedStatusCode(cls, subject, detail));
    }

    private static bool TryNumber(ReadOnlySpan<char> digits, int maxLength, out int value)
    {
        value = 0;
        if (digits.Length == 0 || digits.Length > maxLength) return false;
        foreach (char c in digits)
        {
            if (!char.IsAsciiDigit(c)) return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }

    /// <summary>The <c>Diagnostic-Code</c> value (RFC 3464 §2.3.6): <c>smtp; &lt;reply&gt;</c>, or <c>null</c> without a
    /// reply.</summary>
    public static string? DiagnosticCode(string? lastReply) =>
        string.IsNullOrWhiteSpace(lastReply) ? null : "smtp; " + Printable(lastReply.Trim());

    /// <summary>The <c>Remote-MTA</c> value (RFC 3464 §2.3.5: <c>dns; &lt;name&gt;</c>) from a remote host recorded as
    /// <c>name[address]:port</c>: the name, or the bracketed address when there is no name; <c>null</c> when there is no
    /// remote host or it is no host name (a unix socket path).</summary>
    public static string? RemoteMta(string? remoteHost)
    {
        if (string.IsNullOrWhiteSpace(remoteHost)) return null;
        string host = remoteHost.Trim();
        int bracket = host.IndexOf('[', StringComparison.Ordinal);
        if (bracket > 0)
        {
            host = host[..bracket];
        }
        else if (bracket == 0)
        {
            int close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return null;
            host = host[..(close + 1)];
            return IsPrintableToken(host) ? "dns; " + host : null;
        }
        else
        {
            int colon = host.LastIndexOf(':');
            if (colon > 0 && host.IndexOf(':', StringComparison.Ordinal) == colon) host = host[..colon];
        }
        foreach (char c in host)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')) return null;
        }
        return host.Length == 0 ? null : "dns; " + host;
    }

    /// <summary>
    /// The <c>Final-Recipient</c> value (RFC 3464 §2.3.2): <c>rfc822; local@domain</c>. An address with non-ASCII
    /// characters (SMTPUTF8, RFC 6531) is written as RFC 6533 §3 asks for <c>message/delivery-status</c>: address type
    /// <c>utf-8</c>, each character outside the printable ASCII set (and <c>+</c>, <c>=</c>, <c>\</c>) as
    /// <c>\x{HEX}</c>.
    /// </summary>
    public static string FinalRecipient(Mailbox address)
    {
        string text = address.ToString();
        bool ascii = true;
        foreach (char c in text) ascii &= c is >= ' ' and <= '~';
        return ascii ? "rfc822; " + text : "utf-8; " + Utf8AddrXText(text);
    }

    private static string Utf8AddrXText(string text)
    {
        var sb = new StringBuilder(text.Length * 2);
        foreach (Rune r in text.EnumerateRunes())
        {
            if (r.Value is >= 0x21 and <= 0x7E and not '+' and not '=' and not '\\') sb.Append((char)r.Value);
            else sb.Append("\\x{").Append(r.Value.ToString("X", System.Globalization.CultureInfo.InvariantCulture)).Append('}');
        }
        return sb.ToString();
    }

    /// <summary>
    /// The <c>Original-Recipient</c> value (RFC 3464 §2.3.1: <c>address-type ";" generic-address</c>) from the ORCPT
    /// parameter as received (<c>addr-type;xtext</c>), its address decoded from xtext (RFC 3461 §4.2). RFC 3461 §6.3:
    /// "If the ORCPT parameter was provided for this recipient, the Original-Recipient field MUST be supplied, with its
    /// value taken from the ORCPT parameter." An address that decodes to something other than printable ASCII (or does not
    /// decode) is given in its xtext form, which is. <c>null</c> without ORCPT.
    /// </summary>
    public static string? OriginalRecipient(string? orcpt)
    {
        if (string.IsNullOrWhiteSpace(orcpt)) return null;
        int semi = orcpt.IndexOf(';', StringComparison.Ordinal);
        if (semi <= 0) return Printable(orcpt.Trim());
        string type = orcpt[..semi].Trim();
        string address = orcpt[(semi + 1)..].Trim();
        if (!IsPrintableToken(type)) return Printable(orcpt.Trim());
        if (XText.TryDecode(address, out string? decoded) && decoded is not null && IsPrintableAscii(decoded, allowSpace: true))
        {
            address = decoded;
        }
        return type + "; " + Printable(address);
    }

    /// <summary>
    /// The <c>Original-Envelope-Id</c> value (RFC 3464 §2.2.1) from the ENVID parameter as received, decoded from xtext
    /// (RFC 3461 §4.4: "the value of the ENVID parameter prior to encoding as "xtext" MUST consist entirely of printable
    /// (graphic and white space) characters from the US-ASCII repertoire"). A value that is not, or does not decode, is
    /// given in its received (xtext) form. <c>null</c> without ENVID.
    /// </summary>
    public static string? EnvelopeId(string? envid)
    {
        if (string.IsNullOrEmpty(envid)) return null;
        if (XText.TryDecode(envid, out string? decoded) && decoded is { Length: > 0 } && IsPrintableAscii(decoded, allowSpace: true))
        {
            return decoded;
        }
        return Printable(envid);
    }

    /// <summary>The text with every character outside printable ASCII (and space) replaced by <c>?</c>, tabs by a
    /// space.</summary>
    public static string Printable(string text) => string.Create(text.Length, text, static (span, t) =>
    {
        for (int i = 0; i < t.Length; i++)
        {
            char c = t[i];
            span[i] = c is >= ' ' and <= '~' ? c : c == '\t' ? ' ' : '?';
        }
    });

    private static bool IsPrintableAscii(string text, bool allowSpace)
    {
        foreach (char c in text)
        {
            if (c is < '!' or > '~' && !(allowSpace && c == ' ')) return false;
        }
        return true;
    }

    private static bool IsPrintableToken(string text) => text.Length > 0 && IsPrintableAscii(text, allowSpace: false);
}
