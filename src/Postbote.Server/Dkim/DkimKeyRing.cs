namespace Postbote.Dkim;

/// <summary>
/// The signing keys of the <c>[[dkim.sign]]</c> entries, read once (at start-up and on reload) and then only looked up:
/// the keys of one From: domain, in the order configured.
/// </summary>
public sealed class DkimKeyRing
{
    private readonly Dictionary<string, List<DkimSigningKey>> _byDomain = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<DkimSigningKey> _keys = [];

    /// <summary>A ring without keys: nothing is signed.</summary>
    public static DkimKeyRing Empty { get; } = new();

    private DkimKeyRing()
    {
    }

    /// <summary>Every key, in the order of the entries.</summary>
    public IReadOnlyList<DkimSigningKey> Keys => _keys;

    /// <summary>Reads the key file of every entry.</summary>
    /// <param name="entries">The entries.</param>
    /// <returns>The ring.</returns>
    /// <exception cref="DkimKeyException">A key file cannot be read or holds no usable key; the message names the entry
    /// (domain, selector, path) and the reason.</exception>
    public static DkimKeyRing Load(IEnumerable<DkimSignEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var ring = new DkimKeyRing();
        foreach (DkimSignEntry e in entries)
        {
            DkimSigningKey key;
            try
            {
                key = DkimSigningKey.Load(e.KeyPath, e.Domain, e.Selector, e.Algorithm);
            }
            catch (Exception x) when (x is IOException or UnauthorizedAccessException or FormatException)
            {
                string reason = x switch
                {
                    FileNotFoundException or DirectoryNotFoundException => "no such file (make one with: postbote dkim keygen --domain "
                        + e.Domain + " --selector " + e.Selector + ")",
                    UnauthorizedAccessException => "permission denied",
                    _ => x.Message,
                };
                throw new DkimKeyException($"domain {e.Domain}, selector {e.Selector}, key {System.IO.Path.GetFullPath(e.KeyPath)}: {reason}", x);
            }
            ring._keys.Add(key);
            if (!ring._byDomain.TryGetValue(key.Domain, out var list)) ring._byDomain[key.Domain] = list = [];
            list.Add(key);
        }
        return ring;
    }

    /// <summary>The keys that sign for exactly this domain (no parent or subdomain matches), in the configured order.</summary>
    /// <param name="domain">The From: domain.</param>
    /// <returns>The keys; empty when the domain is not a signing domain.</returns>
    public IReadOnlyList<DkimSigningKey> For(string domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return _byDomain.TryGetValue(domain.TrimEnd('.'), out var list) ? list : [];
    }
}
