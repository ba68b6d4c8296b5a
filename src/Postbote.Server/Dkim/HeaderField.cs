using System.Text;

namespace Postbote.Dkim;

/// <summary>One header field of a message as it is stored: its name and its raw octets from the name to the last octet
/// before the CRLF that ends it (folding kept), RFC 5322 §2.2.</summary>
/// <param name="Name">The field name as written.</param>
/// <param name="Raw">The whole field without its final CRLF.</param>
internal readonly record struct HeaderField(string Name, ReadOnlyMemory<byte> Raw)
{
    /// <summary>The field body after the colon, as text (UTF-8), unfolded lines kept.</summary>
    public string Value
    {
        get
        {
            ReadOnlySpan<byte> s = Raw.Span;
            int colon = s.IndexOf((byte)':');
            return Encoding.UTF8.GetString(s[(colon + 1)..]);
        }
    }

    /// <summary>Splits a header section into fields: a line starting with space or tab continues the field before it
    /// (RFC 5322 §2.2.3); a line without a colon is skipped.</summary>
    /// <param name="section">The header section, without the empty line that ends it.</param>
    /// <returns>The fields in order.</returns>
    public static List<HeaderField> Split(ReadOnlyMemory<byte> section)
    {
        var fields = new List<HeaderField>(16);
        ReadOnlySpan<byte> s = section.Span;
        int start = -1;
        int i = 0;
        while (i < s.Length)
        {
            int nl = s[i..].IndexOf((byte)'\n');
            int lineEnd = nl < 0 ? s.Length : i + nl;           // index of LF (or end)
            int contentEnd = lineEnd > i && s[lineEnd - 1] == (byte)'\r' ? lineEnd - 1 : lineEnd;
            bool continuation = s[i] is (byte)' ' or (byte)'\t';
            if (!continuation)
            {
                if (start >= 0) Add(fields, section, start, i);
                start = s[i..contentEnd].IndexOf((byte)':') > 0 ? i : -1;
            }
            i = nl < 0 ? s.Length : lineEnd + 1;
        }
        if (start >= 0) Add(fields, section, start, s.Length);
        return fields;
    }

    private static void Add(List<HeaderField> fields, ReadOnlyMemory<byte> section, int start, int end)
    {
        ReadOnlySpan<byte> s = section.Span;
        // Drop the CRLF (or LF) that ends the field.
        if (end > start && s[end - 1] == (byte)'\n') end--;
        if (end > start && s[end - 1] == (byte)'\r') end--;
        int colon = s[start..end].IndexOf((byte)':');
        ReadOnlySpan<byte> name = s.Slice(start, colon).TrimEnd(" \t"u8);
        fields.Add(new HeaderField(CommonName(name) ?? Encoding.ASCII.GetString(name), section[start..end]));
    }

    /// <summary>The names most messages carry, spelled as usual, without a new string per message; <c>null</c> for any
    /// other name or spelling.</summary>
    private static string? CommonName(ReadOnlySpan<byte> name)
    {
        if (name.Length > 32) return null;
        Span<char> chars = stackalloc char[name.Length];
        for (int i = 0; i < name.Length; i++) chars[i] = (char)name[i];
        return ((ReadOnlySpan<char>)chars) switch
        {
            "From" => "From", "To" => "To", "Cc" => "Cc", "Subject" => "Subject", "Date" => "Date",
            "Message-Id" => "Message-Id", "Message-ID" => "Message-ID", "MIME-Version" => "MIME-Version",
            "Content-Type" => "Content-Type", "Content-Transfer-Encoding" => "Content-Transfer-Encoding",
            "DKIM-Signature" => "DKIM-Signature", "Received" => "Received", "Return-Path" => "Return-Path",
            "Reply-To" => "Reply-To", "Sender" => "Sender", "In-Reply-To" => "In-Reply-To", "References" => "References",
            "Authentication-Results" => "Authentication-Results", "Received-SPF" => "Received-SPF",
            _ => null,
        };
    }

    /// <summary>The field in the "relaxed" header canonicalization (RFC 6376 §3.4.2): the name in lower case, unfolded,
    /// whitespace runs as one SP, no whitespace at the end of the value or around the colon; without a final CRLF.</summary>
    /// <param name="raw">The field without its final CRLF.</param>
    /// <param name="output">Where the canonical octets go.</param>
    public static void Relaxed(ReadOnlySpan<byte> raw, List<byte> output)
    {
        int colon = raw.IndexOf((byte)':');
        ReadOnlySpan<byte> name = raw[..colon];
        int nameEnd = name.Length;
        while (nameEnd > 0 && name[nameEnd - 1] is (byte)' ' or (byte)'\t') nameEnd--;
        foreach (byte b in name[..nameEnd]) output.Add(b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b);
        output.Add((byte)':');
        bool space = false, started = false;
        foreach (byte b in raw[(colon + 1)..])
        {
            switch (b)
            {
                case (byte)'\r':
                case (byte)'\n':
                    break;
                case (byte)' ':
                case (byte)'\t':
                    space = true;
                    break;
                default:
                    if (space && started) output.Add((byte)' ');
                    space = false;
                    started = true;
                    output.Add(b);
                    break;
            }
        }
    }

    /// <summary>Adds the header fields a DKIM signature covers (RFC 6376 §3.7, §5.4.2), in the order of its <c>h=</c>
    /// names, each canonicalized and ended by CRLF. Repeated instances of a name are taken from the bottom up ("signers
    /// wishing to sign multiple instances of such a header field MUST include the header field name multiple times in
    /// the "h=" tag of the DKIM-Signature header field and MUST sign such header fields in order from the bottom of the
    /// header field block to the top"); a name listed more often than it occurs adds nothing ("nonexistent header
    /// fields do not contribute to the signature computation"). Signing and verifying share it.</summary>
    /// <param name="fields">The header fields of the message, in order.</param>
    /// <param name="names">The <c>h=</c> names.</param>
    /// <param name="relaxed">"relaxed" header canonicalization (§3.4.2); "simple" (§3.4.1, the field unchanged) when
    /// false.</param>
    /// <param name="output">Where the octets go.</param>
    public static void AppendSigned(List<HeaderField> fields, IEnumerable<string> names, bool relaxed, List<byte> output)
    {
        var used = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (string name in names)
        {
            used.TryGetValue(name, out int k);
            used[name] = k + 1;
            int seen = 0;
            for (int i = fields.Count - 1; i >= 0; i--)
            {
                if (!fields[i].Name.Equals(name, StringComparison.OrdinalIgnoreCase) || seen++ != k) continue;
                Canonical(fields[i].Raw.Span, relaxed, output);
                output.Add((byte)'\r');
                output.Add((byte)'\n');
                break;
            }
        }
    }

    /// <summary>One field without its final CRLF in the relaxed or the simple header canonicalization.</summary>
    /// <param name="raw">The field without its final CRLF.</param>
    /// <param name="relaxed">Relaxed when true, simple (unchanged) when false.</param>
    /// <param name="output">Where the octets go.</param>
    public static void Canonical(ReadOnlySpan<byte> raw, bool relaxed, List<byte> output)
    {
        if (relaxed) Relaxed(raw, output);
        else foreach (byte b in raw) output.Add(b);
    }
}
