using System.Globalization;

namespace Postbote.Security.Dmarc;

/// <summary>A DMARC policy record (RFC 7489 §6.3): the tags that decide what happens to a message.</summary>
/// <param name="Policy">p=: <c>none</c>, <c>quarantine</c> or <c>reject</c>.</param>
/// <param name="SubdomainPolicy">sp=, or p= when absent (§6.3: "If absent, the policy specified by the "p" tag MUST be
/// applied for subdomains").</param>
/// <param name="StrictDkim">adkim=s.</param>
/// <param name="StrictSpf">aspf=s.</param>
/// <param name="Percent">pct=, 0 to 100, default 100.</param>
public sealed record DmarcRecord(string Policy, string SubdomainPolicy, bool StrictDkim, bool StrictSpf, int Percent)
{
    /// <summary>Parses a TXT record that begins with <c>v=DMARC1</c>.</summary>
    /// <param name="text">The record text.</param>
    /// <returns>The record, or <c>null</c> when it is not a valid DMARC record (§6.6.3: such records are ignored; "if
    /// the "p" tag is missing or invalid and a valid "rua" tag is present, ... treat as if p=none").</returns>
    public static DmarcRecord? TryParse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tags = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string[] parts = text.Split(';');
        for (int i = 0; i < parts.Length; i++)
        {
            int eq = parts[i].IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            tags.TryAdd(parts[i][..eq].Trim(), parts[i][(eq + 1)..].Trim());
        }
        // §6.4: "v=DMARC1" must be the first tag.
        if (!parts[0].Trim().Replace(" ", "", StringComparison.Ordinal).Equals("v=DMARC1", StringComparison.Ordinal)) return null;
        string? p = ParsePolicy(tags.GetValueOrDefault("p"));
        if (p is null)
        {
            if (!tags.ContainsKey("rua")) return null;
            p = "none";
        }
        string sp = ParsePolicy(tags.GetValueOrDefault("sp")) ?? p;
        int pct = 100;
        if (tags.TryGetValue("pct", out string? pctText) && int.TryParse(pctText, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed))
            pct = Math.Clamp(parsed, 0, 100);
        return new DmarcRecord(p, sp, IsStrict(tags.GetValueOrDefault("adkim")), IsStrict(tags.GetValueOrDefault("aspf")), pct);
    }

    private static string? ParsePolicy(string? value) => value?.ToLowerInvariant() switch
    {
        "none" => "none",
        "quarantine" => "quarantine",
        "reject" => "reject",
        _ => null,
    };

    private static bool IsStrict(string? value) => string.Equals(value, "s", StringComparison.OrdinalIgnoreCase);
}
