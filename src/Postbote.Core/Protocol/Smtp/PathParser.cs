using System.Net;
using System.Net.Sockets;
using System.Text;
using Postbote.Core;

namespace Postbote.Protocol.Smtp;

/// <summary>
/// Parses <c>Reverse-path</c> and <c>Forward-path</c> (RFC 5321 §4.1.2) with the internationalised forms of RFC 6531
/// §3.3, and address literals (RFC 5321 §4.1.3). Source routes (<c>A-d-l</c>) are accepted and ignored, as RFC 5321
/// §4.1.1.3 says servers "SHOULD NOT" reject them but "MAY" ignore the route.
/// </summary>
public static class PathParser
{
    /// <summary>Maximum octets of a local part (RFC 5321 §4.5.3.1.1).</summary>
    public const int MaxLocalPart = 64;
    /// <summary>Maximum octets of a domain (RFC 5321 §4.5.3.1.2).</summary>
    public const int MaxDomain = 255;
    /// <summary>Maximum octets of a path including the angle brackets (RFC 5321 §4.5.3.1.3).</summary>
    public const int MaxPath = 256;

    /// <summary>Parses a path at the start of <paramref name="input"/>.</summary>
    /// <param name="input">The text after <c>MAIL FROM:</c> or <c>RCPT TO:</c>.</param>
    /// <param name="allowNull">Accept <c>&lt;&gt;</c> (the null reverse-path; MAIL only).</param>
    /// <param name="allowPostmaster">Accept the domain-less <c>&lt;Postmaster&gt;</c> (RCPT only, RFC 5321 §4.1.1.3).</param>
    /// <param name="allowUtf8">Accept UTF-8 in local part and domain (the SMTPUTF8 parameter was given, RFC 6531 §3.4).</param>
    /// <param name="mailbox">The mailbox; <c>null</c> for the null reverse-path.</param>
    /// <param name="consumed">Octets of <paramref name="input"/> the path took, brackets included.</param>
    /// <returns>The outcome.</returns>
    public static PathParseStatus TryParse(ReadOnlySpan<byte> input, bool allowNull, bool allowPostmaster, bool allowUtf8,
        out Mailbox? mailbox, out int consumed)
    {
        mailbox = null;
        consumed = 0;
        if (input.Length < 2 || input[0] != '<') return PathParseStatus.Syntax;
        int close = input.IndexOf((byte)'>');
        if (close < 0) return PathParseStatus.Syntax;
        if (close == 1)
        {
            if (!allowNull) return PathParseStatus.Syntax;
            consumed = 2;
            return PathParseStatus.Ok;
        }

        int pos = 1;
        // A-d-l ":" — the obsolete source route, skipped (RFC 5321 §4.1.1.3, §C). The grammar is
        // Path = "<" [ A-d-l ":" ] Mailbox ">" and A-d-l = At-domain *( "," At-domain ) (RFC 5321 §4.1.2): a path that
        // starts with "@" and does not reach the ":" is a malformed route, not an address with two "@".
        if (input[pos] == '@')
        {
            while (true)
            {
                if (pos >= input.Length || input[pos] != '@') return PathParseStatus.BadSourceRoute;
                pos++;
                int len = ScanDomain(input[pos..], allowUtf8: true, out _);
                if (len <= 0) return PathParseStatus.BadSourceRoute;
                pos += len;
                if (pos < input.Length && input[pos] == ',') { pos++; continue; }
                if (pos < input.Length && input[pos] == ':') { pos++; break; }
                return PathParseStatus.BadSourceRoute;
            }
        }

        bool utf8 = false;
        int lpStart = pos;
        int lpLen = input[pos] == '"' ? ScanQuotedString(input[pos..], ref utf8) : ScanDotString(input[pos..], ref utf8);
        if (lpLen <= 0) return PathParseStatus.Syntax;
        pos += lpLen;
        ReadOnlySpan<byte> localPart = input.Slice(lpStart, lpLen);

        string domain;
        if (pos < input.Length && input[pos] == '>' && allowPostmaster && Ascii.EqualsIgnoreCase(localPart, "postmaster"u8))
        {
            domain = "";
        }
        else
        {
            if (pos >= input.Length || input[pos] != '@') return PathParseStatus.Syntax;
            pos++;
            int dStart = pos;
            int dLen;
            if (pos < input.Length && input[pos] == '[')
            {
                dLen = ScanAddressLiteral(input[pos..]);
            }
            else
            {
                dLen = ScanDomain(input[pos..], allowUtf8: true, out bool domainUtf8);
                utf8 |= domainUtf8;
            }
            if (dLen <= 0) return PathParseStatus.Syntax;
            pos += dLen;
            if (dLen > MaxDomain) return PathParseStatus.TooLong;
            domain = Encoding.UTF8.GetString(input.Slice(dStart, dLen));
            // A trailing dot ("example.com.") is not in the grammar but names the same domain; like Postfix, accept it
            // and drop it, so "local." is recognised as local and cannot slip past the relay check as "foreign".
            if (pos + 1 < input.Length && input[pos] == '.' && input[pos + 1] == '>' && input[dStart] != '[') pos++;
        }
        if (pos >= input.Length || input[pos] != '>') return PathParseStatus.Syntax;
        pos++;
        if (lpLen > MaxLocalPart || pos > MaxPath) return PathParseStatus.TooLong;
        if (utf8)
        {
            if (!allowUtf8) return PathParseStatus.NonAsciiNotAllowed;
            if (!System.Text.Unicode.Utf8.IsValid(input[lpStart..pos])) return PathParseStatus.Syntax;
        }
        mailbox = new Mailbox(Encoding.UTF8.GetString(localPart), domain);
        consumed = pos;
        return PathParseStatus.Ok;
    }

    /// <summary>Whether a byte is <c>atext</c> (RFC 5322 §3.2.3), as RFC 5321 §4.1.2 uses it for <c>Atom</c>.</summary>
    /// <param name="b">The byte.</param>
    /// <returns><c>true</c> for ALPHA, DIGIT and <c>!#$%&amp;'*+-/=?^_`{|}~</c>.</returns>
    public static bool IsAText(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'/' or (byte)'=' or (byte)'?' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'{'
            or (byte)'|' or (byte)'}' or (byte)'~';

    // Dot-string = Atom *("." Atom); Atom = 1*atext (RFC 6531 §3.3 adds UTF8-non-ascii to atext).
    private static int ScanDotString(ReadOnlySpan<byte> s, ref bool utf8)
    {
        int i = 0;
        while (true)
        {
            int start = i;
            while (i < s.Length && (IsAText(s[i]) || s[i] >= 0x80))
            {
                if (s[i] >= 0x80) utf8 = true;
                i++;
            }
            if (i == start) return -1; // empty atom: leading dot, "..", trailing dot
            if (i < s.Length && s[i] == '.') { i++; continue; }
            return i;
        }
    }

    // Quoted-string = DQUOTE *QcontentSMTP DQUOTE; qtextSMTP = %d32-33 / %d35-91 / %d93-126; quoted-pairSMTP = %d92 %d32-126.
    private static int ScanQuotedString(ReadOnlySpan<byte> s, ref bool utf8)
    {
        int i = 1;
        while (i < s.Length)
        {
            byte b = s[i];
            if (b == '"') return i + 1;
            if (b == '\\')
            {
                if (i + 1 >= s.Length || s[i + 1] < 32 || s[i + 1] > 126) return -1;
                i += 2;
                continue;
            }
            if (b >= 0x80) { utf8 = true; i++; continue; }
            if (b < 32 || b > 126) return -1;
            i++;
        }
        return -1;
    }

    /// <summary>Scans a <c>Domain</c> (RFC 5321 §4.1.2): <c>sub-domain *("." sub-domain)</c>, each sub-domain a
    /// letter-digit-hyphen label that neither starts nor ends with a hyphen, or a U-label (RFC 6531 §3.3).</summary>
    /// <param name="s">Input starting at the domain.</param>
    /// <param name="allowUtf8">Whether UTF-8 labels are allowed.</param>
    /// <param name="utf8">Whether a UTF-8 octet was seen.</param>
    /// <returns>Octets of the domain, or -1 when there is none.</returns>
    public static int ScanDomain(ReadOnlySpan<byte> s, bool allowUtf8, out bool utf8)
    {
        utf8 = false;
        int i = 0;
        while (true)
        {
            int start = i;
            while (i < s.Length && (IsLetDig(s[i]) || s[i] == '-' || (allowUtf8 && s[i] >= 0x80)))
            {
                if (s[i] >= 0x80) utf8 = true;
                i++;
            }
            if (i == start || s[start] == '-' || s[i - 1] == '-') return -1;
            if (i - start > 63) return -1; // RFC 1035 §2.3.4 label limit
            if (i < s.Length && s[i] == '.' && i + 1 < s.Length && (IsLetDig(s[i + 1]) || s[i + 1] >= 0x80)) { i++; continue; }
            return i;
        }
    }

    private static bool IsLetDig(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9';

    /// <summary>
    /// Scans an <c>address-literal</c> (RFC 5321 §4.1.3): <c>[IPv4]</c>, <c>[IPv6:addr]</c> (the tag matched
    /// case-insensitively) or a General-address-literal <c>[tag:dcontent]</c>.
    /// </summary>
    /// <param name="s">Input starting at <c>[</c>.</param>
    /// <returns>Octets of the literal including brackets, or -1 when malformed.</returns>
    public static int ScanAddressLiteral(ReadOnlySpan<byte> s)
    {
        if (s.Length < 3 || s[0] != '[') return -1;
        int close = s.IndexOf((byte)']');
        if (close < 2) return -1;
        ReadOnlySpan<byte> inner = s[1..close];
        int colon = inner.IndexOf((byte)':');
        if (colon < 0) return IsIPv4(inner) ? close + 1 : -1;
        ReadOnlySpan<byte> tag = inner[..colon];
        ReadOnlySpan<byte> value = inner[(colon + 1)..];
        if (Ascii.EqualsIgnoreCase(tag, "IPv6"u8))
        {
            foreach (byte b in value)
                if (!(IsLetDig(b) || b == ':' || b == '.')) return -1;
            Span<char> chars = stackalloc char[value.Length];
            for (int i = 0; i < value.Length; i++) chars[i] = (char)value[i];
            return IPAddress.TryParse(chars, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? close + 1 : -1;
        }
        // General-address-literal = Standardized-tag ":" 1*dcontent; Standardized-tag = Ldh-str; dcontent = %d33-90 / %d94-126
        if (tag.Length == 0 || !IsLetDig(tag[0]) || tag[^1] == '-') return -1;
        foreach (byte b in tag) if (!(IsLetDig(b) || b == '-')) return -1;
        if (value.Length == 0) return -1;
        foreach (byte b in value) if (b < 33 || b > 126 || b is 91 or 92 or 93) return -1;
        return close + 1;
    }

    // IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT representing 0-255.
    private static bool IsIPv4(ReadOnlySpan<byte> s)
    {
        int parts = 0, i = 0;
        while (parts < 4)
        {
            int start = i, v = 0;
            while (i < s.Length && s[i] >= '0' && s[i] <= '9' && i - start < 3) { v = v * 10 + (s[i] - '0'); i++; }
            if (i == start || v > 255) return false;
            parts++;
            if (parts < 4) { if (i >= s.Length || s[i] != '.') return false; i++; }
        }
        return i == s.Length;
    }
}
