namespace Postbote.Security.Dmarc;

/// <summary>The <c>[dmarc]</c> settings.</summary>
public sealed class DmarcOptions
{
    /// <summary>Whether DMARC is evaluated at the end of data. Defaults to <c>true</c>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Whether the published policy is applied (<c>policy_action = "honour"</c>, the default: p=reject →
    /// <c>550 5.7.1</c>, p=quarantine → the Junk folder) or only recorded (<c>"record"</c>).</summary>
    public bool Honour { get; set; } = true;

    /// <summary>A Public Suffix List file to use instead of the one shipped (<c>public_suffix_list</c>), or <c>null</c>.</summary>
    public string? PublicSuffixListPath { get; set; }
}
