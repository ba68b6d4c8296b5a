using Postbote.Core;

namespace Postbote.Protocol.Smtp.Client;

/// <summary>
/// Reads the keywords and parameters of a positive EHLO reply (RFC 5321 §4.1.1.1, the service extension model of
/// RFC 1869 §4.3) or LHLO reply (RFC 2033 §4.1):
/// <c>ehlo-line = ehlo-keyword *( SP ehlo-param )</c>, <c>ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")</c>,
/// <c>ehlo-param = 1*(%d33-126)</c>. Keywords are case-insensitive (RFC 5321 §2.4: "extension name keywords ... are
/// not case sensitive"). Known: SIZE (RFC 1870), PIPELINING (RFC 2920), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN
/// (RFC 3461), ENHANCEDSTATUSCODES (RFC 2034), CHUNKING and BINARYMIME (RFC 3030), STARTTLS (RFC 3207) and AUTH
/// (RFC 4954, also in the older form <c>AUTH=mech ...</c> that some servers still send). A line that is not an
/// ehlo-line is skipped, not fatal: the extensions it might have named are then not used. Pure.
/// </summary>
public static class EhloKeywordReader
{
    /// <summary>Reads what the server offers from its reply to EHLO or LHLO.</summary>
    /// <param name="reply">The reply; lines after the first are the ehlo-lines.</param>
    /// <returns>The capabilities; <see cref="EhloCapabilities.None"/>-like (no extension) when the reply is not 250.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reply"/> is <c>null</c>.</exception>
    public static EhloCapabilities Read(SmtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        string domain = FirstWord(reply.Lines.Count > 0 ? reply.Lines[0] : string.Empty);
        if (reply.Code != SmtpReplyCode.Ok) return EhloCapabilities.None with { Domain = domain };
        SmtpExtensions extensions = SmtpExtensions.None;
        long? size = null;
        var auth = new List<string>();
        var keywords = new List<string>();
        for (int i = 1; i < reply.Lines.Count; i++)
        {
            string line = reply.Lines[i];
            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0) continue;
            string keyword = words[0].ToUpperInvariant();
            string[] parameters = words[1..];
            // The older form: "AUTH=LOGIN PLAIN" (before RFC 2554 was final); its first mechanism follows the '='.
            if (keyword.StartsWith("AUTH=", StringComparison.Ordinal))
            {
                parameters = [keyword[5..], .. parameters];
                keyword = "AUTH";
            }
            if (!IsKeyword(keyword) || !AreParameters(parameters)) continue;
            if (!keywords.Contains(keyword)) keywords.Add(keyword);
            switch (keyword)
            {
                case "SIZE":
                    extensions |= SmtpExtensions.Size;
                    // RFC 1870 §4: "SIZE" [SP number]; 0 means no fixed maximum. A number too large for a long is no limit.
                    if (parameters.Length > 0 && long.TryParse(parameters[0], System.Globalization.NumberStyles.None,
                            System.Globalization.CultureInfo.InvariantCulture, out long n) && n > 0)
                        size = n;
                    break;
                case "PIPELINING": extensions |= SmtpExtensions.Pipelining; break;
                case "8BITMIME": extensions |= SmtpExtensions.EightBitMime; break;
                case "SMTPUTF8": extensions |= SmtpExtensions.SmtpUtf8; break;
                case "DSN": extensions |= SmtpExtensions.Dsn; break;
                case "ENHANCEDSTATUSCODES": extensions |= SmtpExtensions.EnhancedStatusCodes; break;
                case "CHUNKING": extensions |= SmtpExtensions.Chunking; break;
                case "BINARYMIME": extensions |= SmtpExtensions.BinaryMime; break;
                case "STARTTLS": extensions |= SmtpExtensions.StartTls; break;
                case "AUTH":
                    extensions |= SmtpExtensions.Auth;
                    foreach (string p in parameters)
                    {
                        string mech = p.ToUpperInvariant();
                        if (!auth.Contains(mech)) auth.Add(mech);
                    }
                    break;
            }
        }
        return new EhloCapabilities(domain, extensions, size, auth.ToArray(), keywords.ToArray());
    }

    private static string FirstWord(string line)
    {
        int sp = line.IndexOf(' ');
        return sp < 0 ? line : line[..sp];
    }

    // ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    private static bool IsKeyword(string s)
    {
        if (s.Length == 0 || s[0] == '-') return false;
        foreach (char c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-')) return false;
        }
        return true;
    }

    // ehlo-param = 1*(%d33-126)
    private static bool AreParameters(string[] parameters)
    {
        foreach (string p in parameters)
        {
            foreach (char c in p)
            {
                if (c is < '!' or > '~') return false;
            }
        }
        return true;
    }
}
