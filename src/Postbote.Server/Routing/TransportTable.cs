namespace Postbote.Routing;

/// <summary>
/// The per-domain transports of <c>[relay.transports]</c>: a recipient domain, or with a leading dot every subdomain of
/// it (as in Postfix's transport(5) with <c>parent_domain_matches_subdomains</c> off), mapped to a fixed next hop.
/// Domains without an entry go by MX, or to the smarthost when one is set.
/// </summary>
public sealed class TransportTable
{
    private readonly Dictionary<string, Transport> _byDomain = new(StringComparer.Ordinal);

    /// <summary>An empty table.</summary>
    public static TransportTable Empty { get; } = new([]);

    /// <summary>Creates the table.</summary>
    /// <param name="entries">Domain (<c>example.net</c>, or <c>.example.net</c> for its subdomains) to transport; domains
    /// are matched without case and without a trailing dot.</param>
    /// <exception cref="ArgumentException">An entry has an empty domain.</exception>
    public TransportTable(IEnumerable<KeyValuePair<string, Transport>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (KeyValuePair<string, Transport> e in entries)
        {
            string key = e.Key.Trim().TrimEnd('.').ToLowerInvariant();
            if (key.Length == 0 || key == ".") throw new ArgumentException("A transport entry needs a domain.", nameof(entries));
            _byDomain[key] = e.Value;
        }
    }

    /// <summary>The entries, domain (lower case, without a trailing dot) to transport, in domain order.</summary>
    public IEnumerable<KeyValuePair<string, Transport>> Entries => _byDomain.OrderBy(static e => e.Key, StringComparer.Ordinal);

    /// <summary>The number of entries.</summary>
    public int Count => _byDomain.Count;

    /// <summary>The transport for a recipient domain: the exact domain's entry, else the nearest parent's <c>.parent</c>
    /// entry.</summary>
    /// <param name="domain">The recipient's domain.</param>
    /// <returns>The transport, or <c>null</c> when the domain has none.</returns>
    public Transport? Find(string domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string d = domain.TrimEnd('.').ToLowerInvariant();
        if (_byDomain.TryGetValue(d, out Transport? exact)) return exact;
        for (int dot = d.IndexOf('.', StringComparison.Ordinal); dot >= 0; dot = d.IndexOf('.', dot + 1))
        {
            if (_byDomain.TryGetValue(d[dot..], out Transport? parent)) return parent;
        }
        return null;
    }
}
