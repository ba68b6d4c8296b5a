using System.Globalization;
using System.Net;

namespace Postbote.Dns;

/// <summary>The settings of <see cref="DnsResolver"/>: the <c>[dns]</c> table of docs/configuration.md.</summary>
public sealed class DnsResolverOptions
{
    /// <summary>The recursive resolvers to ask, in order (setting <c>dns.servers</c>). Empty (the default) means the
    /// <c>nameserver</c> lines of <c>/etc/resolv.conf</c>, read when the resolver is created.</summary>
    public IReadOnlyList<IPEndPoint> Servers { get; set; } = [];

    /// <summary>How long to wait for the answer to one try (setting <c>dns.timeout</c>). Defaults to 5 seconds, as the
    /// system's stub resolver (resolv.conf(5) <c>timeout:5</c>). From 0.1 to 60 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many times a query that timed out or got SERVFAIL is sent again to each server (setting
    /// <c>dns.retries</c>), so each server gets <c>1 + Retries</c> tries. Defaults to 1, as the system's stub resolver (<c>attempts:2</c>). From 0
    /// to 10.</summary>
    public int Retries { get; set; } = 1;

    /// <summary>The most answers kept in the cache (setting <c>dns.cache_size</c>), counted in entries (one per name and
    /// type); the least recently used goes first. 0 turns the cache off. Defaults to 10,000.</summary>
    public int CacheSize { get; set; } = 10_000;

    /// <summary>The longest a found answer is cached (setting <c>dns.max_ttl</c>), whatever its TTL. Defaults to 86,400
    /// seconds (one day), as Unbound's <c>cache-max-ttl</c>.</summary>
    public TimeSpan MaxTtl { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The longest a negative answer (NXDOMAIN, NODATA) is cached (setting <c>dns.max_negative_ttl</c>).
    /// Defaults to 10,800 seconds (three hours), the upper end of what RFC 2308 §5 found to work well.</summary>
    public TimeSpan MaxNegativeTtl { get; set; } = TimeSpan.FromHours(3);

    /// <summary>Checks every value against its range.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names the setting and the reason.</exception>
    public void Validate()
    {
        if (Timeout < TimeSpan.FromSeconds(0.1) || Timeout > TimeSpan.FromSeconds(60))
            throw new ArgumentException("dns.timeout must be between 0.1 and 60 seconds");
        if (Retries is < 0 or > 10) throw new ArgumentException("dns.retries must be between 0 and 10");
        if (CacheSize is < 0 or > 10_000_000) throw new ArgumentException("dns.cache_size must be between 0 and 10000000");
        if (MaxTtl < TimeSpan.Zero || MaxTtl > TimeSpan.FromSeconds(int.MaxValue))
            throw new ArgumentException("dns.max_ttl must be between 0 and 2147483647 seconds");
        if (MaxNegativeTtl < TimeSpan.Zero || MaxNegativeTtl > TimeSpan.FromSeconds(int.MaxValue))
            throw new ArgumentException("dns.max_negative_ttl must be between 0 and 2147483647 seconds");
        foreach (IPEndPoint server in Servers)
        {
            if (server.Port == 0)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"dns.servers: '{server}' has port 0"));
        }
    }
}
