using System.Globalization;

namespace Postbote.Security.Dmarc;

/// <summary>
/// The Public Suffix List (publicsuffix.org; format at publicsuffix.org/list/) and the organizational domain DMARC
/// derives from it (RFC 7489 §3.2): the public suffix of a domain plus one label. The list shipped with Postbote is
/// Debian's <c>publicsuffix</c> 20230209.2326-1 (docs/authentication.md); <c>[dmarc] public_suffix_list</c> names a
/// newer file. The rules do not change once loaded and answers are remembered per domain; thread-safe.
/// </summary>
public sealed class PublicSuffixList
{
    private readonly HashSet<string> _rules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _wildcards = new(StringComparer.Ordinal);
    private readonly HashSet<string> _exceptions = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _organizational = new(StringComparer.Ordinal);

    /// <summary>The most organizational domains remembered (count); when full, all are forgotten and found again.</summary>
    public const int MaxRemembered = 10_000;

    private PublicSuffixList(TextReader reader)
    {
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            // "Each line is only read up to the first whitespace"; comments start with //.
            string rule = line.Trim();
            int space = rule.IndexOfAny([' ', '\t']);
            if (space >= 0) rule = rule[..space];
            if (rule.Length == 0 || rule.StartsWith("//", StringComparison.Ordinal)) continue;
            rule = ToAscii(rule.TrimStart('!', '*', '.')) is { } ascii
                ? (rule.StartsWith('!') ? "!" : rule.StartsWith("*.", StringComparison.Ordinal) ? "*." : "") + ascii
                : rule;
            if (rule.StartsWith('!')) _exceptions.Add(rule[1..]);
            else if (rule.StartsWith("*.", StringComparison.Ordinal)) _wildcards.Add(rule[2..]);
            else _rules.Add(rule);
        }
        RuleCount = _rules.Count + _wildcards.Count + _exceptions.Count;
    }

    /// <summary>How many rules the list holds.</summary>
    public int RuleCount { get; }

    /// <summary>The list shipped inside Postbote.</summary>
    /// <returns>The list.</returns>
    public static PublicSuffixList LoadEmbedded()
    {
        using Stream stream = typeof(PublicSuffixList).Assembly.GetManifestResourceStream("Postbote.Security.Dmarc.public_suffix_list.dat")
            ?? throw new InvalidOperationException("the embedded Public Suffix List is missing");
        using var reader = new StreamReader(stream);
        return new PublicSuffixList(reader);
    }

    /// <summary>Reads a list file.</summary>
    /// <param name="path">The file, in the format of public_suffix_list.dat.</param>
    /// <returns>The list.</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="FormatException">The file holds no rule.</exception>
    public static PublicSuffixList Load(string path)
    {
        using var reader = new StreamReader(path);
        var list = new PublicSuffixList(reader);
        if (list.RuleCount == 0) throw new FormatException($"{path} holds no public suffix rule");
        return list;
    }

    /// <summary>The organizational domain of <paramref name="domain"/> (RFC 7489 §3.2): "the Organizational Domain will
    /// be the domain that is one label below the public suffix"; the domain itself when it is a public suffix or has
    /// no more labels. Lower case, A-labels, no trailing dot.</summary>
    /// <param name="domain">A domain name.</param>
    /// <returns>The organizational domain.</returns>
    public string OrganizationalDomain(string domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (_organizational.TryGetValue(domain, out string? known)) return known;
        string org = Find(domain);
        if (_organizational.Count >= MaxRemembered) _organizational.Clear();
        _organizational.TryAdd(domain, org);
        return org;
    }

    private string Find(string domain)
    {
        string d = (ToAscii(domain.TrimEnd('.')) ?? domain.TrimEnd('.')).ToLowerInvariant();
        string[] labels = d.Split('.');
        int suffixLabels = SuffixLabels(labels);
        return suffixLabels >= labels.Length ? d : string.Join('.', labels[^(suffixLabels + 1)..]);
    }

    /// <summary>How many labels from the right form the public suffix (the prevailing rule; "*" when none matches).</summary>
    private int SuffixLabels(string[] labels)
    {
        int best = 1;
        for (int n = 1; n <= labels.Length; n++)
        {
            string tail = string.Join('.', labels[^n..]);
            // An exception rule wins and its suffix is the rule less its leftmost label.
            if (_exceptions.Contains(tail)) return n - 1;
            if (_rules.Contains(tail)) best = Math.Max(best, n);
            if (n < labels.Length && _wildcards.Contains(tail)) best = Math.Max(best, n + 1);
        }
        return best;
    }

    private static string? ToAscii(string name)
    {
        if (name.Length == 0 || System.Text.Ascii.IsValid(name)) return name.ToLowerInvariant();
        try
        {
            return new IdnMapping().GetAscii(name).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
