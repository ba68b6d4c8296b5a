using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postbote.Security.Spf;

/// <summary>
/// Macro strings (RFC 7208 §7): their syntax, the <c>domain-spec</c> rule, and their expansion. Expansion itself asks
/// no DNS: the validated domain name of <c>%{p}</c> is found beforehand by the caller (§7.3) and handed in.
/// </summary>
internal static class SpfMacro
{
    /// <summary>The letters of §7.2 allowed everywhere; <c>c</c>, <c>r</c> and <c>t</c> only in explanation text
    /// ("The following macro letters are allowed only in "exp" text: c, r, t").</summary>
    private const string Letters = "slodiphv", ExplanationLetters = "slodiphvcrt";

    /// <summary>§7.1 <c>delimiter = "." / "-" / "+" / "," / "/" / "_" / "="</c>.</summary>
    private const string Delimiters = ".-+,/_=";

    /// <summary>Whether <paramref name="text"/> is a <c>macro-string</c> (or, for explanations, an
    /// <c>explain-string</c>, which also allows spaces).</summary>
    public static bool IsValid(string text, bool explanation) => TryScan(text, explanation, out _);

    /// <summary>Whether <paramref name="text"/> is a <c>domain-spec = macro-string domain-end</c>,
    /// <c>domain-end = ( "." toplabel [ "." ] ) / macro-expand</c> (RFC 7208 §7.1).</summary>
    public static bool IsValidDomainSpec(string text)
    {
        if (text.Length == 0 || !TryScan(text, false, out int literalTail)) return false;
        string tail = text[literalTail..];
        if (tail.Length == 0) return true; // ends with a macro-expand
        if (tail.EndsWith('.')) tail = tail[..^1];
        if (tail.Length == 0) return literalTail > 0;
        int dot = tail.LastIndexOf('.');
        if (dot < 0) return false;
        return IsTopLabel(tail[(dot + 1)..]);
    }

    /// <summary>§7.1 <c>toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )</c>.</summary>
    private static bool IsTopLabel(string label)
    {
        if (label.Length == 0 || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')) return false;
        if (!label.Contains('-', StringComparison.Ordinal)) return label.Any(char.IsAsciiLetter);
        return char.IsAsciiLetterOrDigit(label[0]) && char.IsAsciiLetterOrDigit(label[^1]);
    }

    /// <summary>Checks the syntax; <paramref name="literalTail"/> is where the last run of literal characters begins
    /// (the length when the text ends with a macro-expand).</summary>
    private static bool TryScan(string text, bool explanation, out int literalTail)
    {
        literalTail = 0;
        string letters = explanation ? ExplanationLetters : Letters;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c != '%')
            {
                // §7.1 macro-literal = %x21-24 / %x26-7E; explain-string adds SP.
                if (c is < '!' or > '~' && !(explanation && c == ' ')) return false;
                i++;
                continue;
            }
            if (i + 1 >= text.Length) return false;
            char next = text[i + 1];
            if (next is '%' or '_' or '-')
            {
                i += 2;
                literalTail = i;
                continue;
            }
            if (next != '{' || i + 2 >= text.Length || !letters.Contains(char.ToLowerInvariant(text[i + 2]), StringComparison.Ordinal)) return false;
            int j = i + 3;
            int digitsStart = j;
            while (j < text.Length && char.IsAsciiDigit(text[j])) j++;
            // §7.3: "If a DIGIT is specified, the value MUST be nonzero."
            if (j > digitsStart && (!int.TryParse(text.AsSpan(digitsStart, j - digitsStart), NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n == 0))
                return false;
            if (j < text.Length && (text[j] is 'r' or 'R')) j++;
            while (j < text.Length && Delimiters.Contains(text[j], StringComparison.Ordinal)) j++;
            if (j >= text.Length || text[j] != '}') return false;
            i = j + 1;
            literalTail = i;
        }
        // literalTail is the end of the last macro-expand: what follows is literal.
        return true;
    }

    /// <summary>Expands a macro-string that <see cref="IsValid"/> accepted.</summary>
    /// <param name="text">The macro-string or explain-string.</param>
    /// <param name="request">The check's arguments.</param>
    /// <param name="domain">The current domain, <c>%{d}</c>.</param>
    /// <param name="validatedName">The <c>%{p}</c> value, or <c>null</c> when the text has no <c>%{p}</c>.</param>
    /// <param name="now">The time for <c>%{t}</c>.</param>
    /// <returns>The expansion.</returns>
    public static string Expand(string text, SpfRequest request, string domain, string? validatedName, DateTimeOffset now)
    {
        var s = new StringBuilder(text.Length + 32);
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c != '%')
            {
                s.Append(c);
                i++;
                continue;
            }
            char next = text[i + 1];
            if (next == '%') s.Append('%');
            else if (next == '_') s.Append(' ');
            else if (next == '-') s.Append("%20");
            if (next != '{')
            {
                i += 2;
                continue;
            }
            char letter = text[i + 2];
            int j = i + 3;
            int digitsStart = j;
            while (char.IsAsciiDigit(text[j])) j++;
            int? keep = j > digitsStart ? int.Parse(text.AsSpan(digitsStart, j - digitsStart), CultureInfo.InvariantCulture) : null;
            bool reverse = false;
            if (text[j] is 'r' or 'R')
            {
                reverse = true;
                j++;
            }
            int delimStart = j;
            while (text[j] != '}') j++;
            string delimiters = text[delimStart..j];
            i = j + 1;
            string value = Value(char.ToLowerInvariant(letter), request, domain, validatedName, now);
            // §7.3: split on the delimiters (default "."), reverse if asked, keep the rightmost parts, join with ".".
            if (keep is not null || reverse || delimiters.Length > 0)
            {
                string[] parts = value.Split(delimiters.Length == 0 ? ['.'] : delimiters.ToCharArray());
                if (reverse) Array.Reverse(parts);
                if (keep is int k && k < parts.Length) parts = parts[^k..];
                value = string.Join('.', parts);
            }
            // §7.3: "Uppercase macros expand exactly as their lowercase equivalents, and are then URL escaped."
            s.Append(char.IsAsciiLetterUpper(letter) ? UrlEscape(value) : value);
        }
        return s.ToString();
    }

    private static string Value(char letter, SpfRequest request, string domain, string? validatedName, DateTimeOffset now)
    {
        IPAddress ip = SpfChecker.Normalize(request.Client);
        bool v4 = ip.AddressFamily == AddressFamily.InterNetwork;
        return letter switch
        {
            's' => request.LocalPart + "@" + request.Domain,
            'l' => request.LocalPart,
            'o' => request.Domain,
            'd' => domain,
            // §7.3: "For IPv6 addresses, the "i" macro expands to a dot-format address"; "c" to a readable one. The
            // nibbles in upper case, as the example of §7.4 writes them.
            'i' => v4 ? ip.ToString() : string.Join('.', Convert.ToHexString(ip.GetAddressBytes()).ToCharArray()),
            'c' => ip.ToString(),
            'p' => validatedName ?? "unknown",
            'v' => v4 ? "in-addr" : "ip6",
            'h' => request.HeloName,
            'r' => request.ReceivingHost.Length > 0 ? request.ReceivingHost : "unknown",
            't' => now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            _ => "",
        };
    }

    /// <summary>RFC 3986 §2.1 percent-encoding of everything but the unreserved characters (§2.3).</summary>
    private static string UrlEscape(string value)
    {
        var s = new StringBuilder(value.Length * 3);
        foreach (byte b in Encoding.UTF8.GetBytes(value))
        {
            char c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~') s.Append(c);
            else s.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return s.ToString();
    }

    /// <summary>§7.3: "if the expanded domain name exceeds 253 characters …, the left side is truncated to fit, by
    /// removing successive domain labels (and their following dots) until the total length does not exceed 253
    /// characters."</summary>
    public static string TruncateDomain(string name)
    {
        string n = name.EndsWith('.') ? name[..^1] : name;
        while (n.Length > 253)
        {
            int dot = n.IndexOf('.', StringComparison.Ordinal);
            if (dot < 0) break;
            n = n[(dot + 1)..];
        }
        return n;
    }
}
