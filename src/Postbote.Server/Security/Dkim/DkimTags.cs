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
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string spec in list.Split(';'))
        {
            if (spec.AsSpan().Trim(Whitespace).IsEmpty) continue; // "[ ";" ]" at the end, or nothing between
            int eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0) return null;
            string name = spec[..eq].Trim(Whitespace);
            if (name.Length == 0 || !tags.TryAdd(name, spec[(eq + 1)..].Trim(Whitespace))) return null;
        }
        return tags;
    }

    /// <summary>A colon-separated value (<c>h=</c>, <c>q=</c>, the key record's <c>h= s= t=</c>) as its elements,
    /// white space removed, empty ones dropped.</summary>
    /// <param name="value">The tag value.</param>
    /// <returns>The elements.</returns>
    public static List<string> List(string value) =>
        value.Split(':').Select(x => x.Trim(Whitespace)).Where(x => x.Length > 0).ToList();

    /// <summary>A value with all white space removed (base64 values <c>b= bh= p=</c> may be folded anywhere).</summary>
    /// <param name="value">The tag value.</param>
    /// <returns>The value without white space.</returns>
    public static string WithoutWhitespace(string value)
    {
        if (value.AsSpan().IndexOfAny(Whitespace) < 0) return value;
        Span<char> kept = value.Length <= 1024 ? stackalloc char[value.Length] : new char[value.Length];
        int n = 0;
        foreach (char c in value)
            if (c is not (' ' or '\t' or '\r' or '\n')) kept[n++] = c;
        return new string(kept[..n]);
    }

    /// <summary>Folding white space: SP, HTAB, CR, LF.</summary>
    public static readonly char[] Whitespace = [' ', '\t', '\r', '\n'];
}
