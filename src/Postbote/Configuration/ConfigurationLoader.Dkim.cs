using Postbote.Dkim;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>Reads the <c>[dkim]</c> table: <c>verify</c> (DKIM verification of inbound mail) and its <c>[[dkim.sign]]</c> entries, each with <c>domain</c>, <c>selector</c>,
    /// an optional <c>key</c> (PEM file; default the keygen path, resolved once <c>data_dir</c> is known) and an
    /// optional <c>algorithm</c> (<c>rsa</c> or <c>ed25519</c>; default the key's type).</summary>
    /// <exception cref="FormatException">A missing or bad value; one line naming the entry and setting.</exception>
    private static void ReadDkim(TomlTable t, PostboteConfiguration c)
    {
        foreach (var (k, v) in t)
        {
            string name = "dkim." + k;
            switch (k)
            {
                case "verify": c.DkimVerify = Bool(name, v); break;
                case "sign":
                    if (v is not TomlTableArray entries) throw new FormatException("dkim.sign must be an array of tables ([[dkim.sign]])");
                    int index = 0;
                    foreach (TomlTable entry in entries) c.DkimSign.Add(ReadDkimSign($"dkim.sign[{index++}]", entry));
                    break;
                default: throw Unknown(name);
            }
        }
    }

    private static DkimSignEntry ReadDkimSign(string where, TomlTable t)
    {
        string? domain = null, selector = null, key = null;
        DkimAlgorithm? algorithm = null;
        foreach (var (k, v) in t)
        {
            string name = where + "." + k;
            switch (k)
            {
                case "domain": domain = DkimDomain(name, v); break;
                case "selector": selector = Selector(name, v); break;
                case "key": key = PathSetting(name, v); break;
                case "algorithm": algorithm = Algorithm(name, v); break;
                default: throw Unknown("dkim.sign." + k);
            }
        }
        if (domain is null) throw new FormatException($"{where}.domain is missing: every [[dkim.sign]] entry names its domain");
        if (selector is null) throw new FormatException($"{where}.selector is missing: every [[dkim.sign]] entry names its selector");
        // The key path is resolved against data_dir at the end of Parse (data_dir may come later in the file).
        return new DkimSignEntry(domain, selector, key ?? "", algorithm);
    }

    /// <summary>A domain name for <c>d=</c>: letters, digits, hyphens and dots, lower case, no trailing dot.</summary>
    private static string DkimDomain(string key, object? v)
    {
        string s = Str(key, v).Trim().TrimEnd('.').ToLowerInvariant();
        if (s.Length == 0 || s.Length > 253 || !s.All(static ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.') || s.StartsWith('.')
            || s.Contains("..", StringComparison.Ordinal))
            throw new FormatException($"{key} must be a domain name, got '{Printable(s)}'");
        return s;
    }

    /// <summary>A selector (RFC 6376 §3.1: <c>sub-domain *( "." sub-domain )</c>).</summary>
    private static string Selector(string key, object? v)
    {
        string s = Str(key, v);
        if (s.Length == 0 || s.Length > 63 || !s.All(static ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.') || s.StartsWith('.')
            || s.EndsWith('.') || s.Contains("..", StringComparison.Ordinal))
            throw new FormatException($"{key} must be a selector (letters, digits, hyphens, dots), got '{Printable(s)}'");
        return s;
    }

    private static DkimAlgorithm Algorithm(string key, object? v) => Str(key, v).ToLowerInvariant() switch
    {
        "rsa" or "rsa-sha256" => DkimAlgorithm.RsaSha256,
        "ed25519" or "ed25519-sha256" => DkimAlgorithm.Ed25519Sha256,
        var s => throw new FormatException($"{key} must be rsa or ed25519, got '{Printable(s)}'"),
    };

    /// <summary>Reads the <c>[arc]</c> table: <c>verify</c>, <c>seal</c>, <c>seal_domain</c>, <c>selector</c>,
    /// <c>key</c>.</summary>
    private static void ReadArc(TomlTable t, ArcSettings a)
    {
        foreach (var (k, v) in t)
        {
            string name = "arc." + k;
            switch (k)
            {
                case "verify": a.Verify = Bool(name, v); break;
                case "seal": a.Seal = Bool(name, v); break;
                case "seal_domain": a.SealDomain = DkimDomain(name, v); break;
                case "selector": a.SealSelector = Selector(name, v); break;
                case "key": a.SealKey = PathSetting(name, v); break;
                default: throw Unknown(name);
            }
        }
        if (a.SealDomain is null != (a.SealSelector is null))
            throw new FormatException("arc.seal_domain and arc.selector go together");
        if (a.SealKey is not null && a.SealDomain is null)
            throw new FormatException("arc.key needs arc.seal_domain and arc.selector");
    }

    /// <summary>Fills in the default key paths of <c>[[dkim.sign]]</c> and <c>[arc]</c> once <c>data_dir</c> is known.</summary>
    private static void ResolveDkimKeys(PostboteConfiguration c)
    {
        for (int i = 0; i < c.DkimSign.Count; i++)
        {
            DkimSignEntry e = c.DkimSign[i];
            if (e.KeyPath.Length == 0) c.DkimSign[i] = e with { KeyPath = DkimSignEntry.DefaultKeyPath(c.DataDirectory, e.Domain, e.Selector) };
        }
        if (c.Arc.SealDomain is { } d && c.Arc.SealKey is null)
            c.Arc.SealKey = DkimSignEntry.DefaultKeyPath(c.DataDirectory, d, c.Arc.SealSelector!);
    }
}
