namespace Postbote.Security.Dkim;

/// <summary>
/// The tag=value lists of DKIM-Signature fields and key records (RFC 6376 §3.2): "tag-list = tag-spec *( ";" tag-spec )
/// [ ";" ]", "tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]"; "Tags with duplicate names MUST NOT occur
/// within a single tag-list; if a tag name does occur more than once, the entire tag-list is invalid."
/// </summary>
internal static class DkimTags
{
    /// <summary>Splits a tag list: names as written, values with the folding white space at both ends removed (inner
    /// white space kept: only some values may contain it).</summary>
    /// <param name="list">The field value or record text.</param>
    /// <returns>The tags, or <c>null</c> when a name occurs twice or a tag-spec has no name.</returns>
    public static Dictionary<string, string>? Parse(string list)
    {
        // Read over spans: only the names and the trimmed values become strings (a signature is read for every message).
        var tags = new Dictionary<string, string>(12, StringComparer.Ordinal);
        ReadOnlySpan<char> rest = list;
        while (true)
        {
            int semi = rest.IndexOf(';');
            ReadOnlySpan<char> spec = semi < 0 ? rest : rest[..semi];
            if (!spec.Trim(Fws).IsEmpty) // "[ ";" ]" at the end, or nothing between
            {
                int eq = spec.IndexOf('=');
                if (eq < 0) return null;
                ReadOnlySpan<char> name = spec[..eq].Trim(Fws);
                if (name.IsEmpty || !tags.TryAdd(Name(name), spec[(eq + 1)..].Trim(Fws).ToString())) return null;
            }
            if (semi < 0) return tags;
            rest = rest[(semi + 1)..];
        }
    }

    /// <summary>A tag name as a string: the names RFC 6376 defines without a new string each time.</summary>
    private static string Name(ReadOnlySpan<char> name) => name switch
    {
        "v" => "v", "a" => "a", "b" => "b", "bh" => "bh", "c" => "c", "d" => "d", "h" => "h", "i" => "i", "l" => "l",
        "q" => "q", "s" => "s", "t" => "t", "x" => "x", "z" => "z", "k" => "k", "p" => "p", "n" => "n", "g" => "g",
        _ => name.ToString(),
    };

    /// <summary>A colon-separated value (<c>h=</c>, <c>q=</c>, the key record's <c>h= s= t=</c>) as its elements,
    /// white space removed, empty ones dropped.</summary>
    /// <param name="value">The tag value.</param>
    /// <returns>The elements.</returns>
    public static List<string> List(string value)
    {
        var list = new List<string>();
        ReadOnlySpan<char> rest = value;
        while (true)
        {
            int colon = rest.IndexOf(':');
            ReadOnlySpan<char> item = (colon < 0 ? rest : rest[..colon]).Trim(Fws);
            if (!item.IsEmpty) list.Add(item.ToString());
            if (colon < 0) return list;
            rest = rest[(colon + 1)..];
        }
    }

    /// <summary>A value with all white space removed (base64 values <c>b= bh= p=</c> may be folded anywhere).</summary>
    /// <param name="value">The tag value.</param>
    /// <returns>The value without white space.</returns>
    public static string WithoutWhitespace(string value)
    {
        if (value.AsSpan().IndexOfAny(Fws) < 0) return value;
        Span<char> kept = value.Length <= 1024 ? stackalloc char[value.Length] : new char[value.Length];
        int n = 0;
        foreach (char c in value)
            if (c is not (' ' or '\t' or '\r' or '\n')) kept[n++] = c;
        return new string(kept[..n]);
    }

    /// <summary>Folding white space: SP, HTAB, CR, LF.</summary>
    private static ReadOnlySpan<char> Fws => " \t\r\n";
}
