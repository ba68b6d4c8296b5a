using Postbote.Dns;
using Postbote.Testing.Dns;
using Z = Postbote.Testing.Dns.PostboteTestZones;

namespace Postbote.Tests.Dns;

/// <summary>The TTL cache, seen from the wire: the relay in front of nsd counts the queries that were really sent, and a
/// manual clock stands in for the passing of the TTLs.</summary>
[Collection(DnsServerCollection.Name)]
public sealed class DnsResolverCacheTests(DnsServerFixture dns)
{
    private readonly ManualTimeProvider clock = new();

    private DnsResolver Resolver(Action<DnsResolverOptions>? set = null)
    {
        var options = new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) };
        set?.Invoke(options);
        return new DnsResolver(options, clock);
    }

    [Fact]
    public async Task FoundAnswerIsServedFromTheCacheUntilItsTtlRunsOut()
    {
        var resolver = Resolver();
        int sent = dns.Queries.Count(Z.ThreeMx, "MX");

        var first = await resolver.LookupMxAsync(Z.ThreeMx);
        Assert.Equal(sent + 1, dns.Queries.Count(Z.ThreeMx, "MX"));
        Assert.False(first.FromCache);

        clock.Advance(TimeSpan.FromSeconds(100));
        var second = await resolver.LookupMxAsync(Z.ThreeMx);
        Assert.Equal(sent + 1, dns.Queries.Count(Z.ThreeMx, "MX"));
        Assert.True(second.FromCache);
        Assert.Equal(TimeSpan.FromSeconds(3500), second.TimeToLive);
        Assert.Equal(first.Records, second.Records);

        clock.Advance(TimeSpan.FromSeconds(3499));
        Assert.True((await resolver.LookupMxAsync(Z.ThreeMx)).FromCache);
        Assert.Equal(sent + 1, dns.Queries.Count(Z.ThreeMx, "MX"));

        clock.Advance(TimeSpan.FromSeconds(1));
        var third = await resolver.LookupMxAsync(Z.ThreeMx);
        Assert.False(third.FromCache);
        Assert.Equal(TimeSpan.FromSeconds(3600), third.TimeToLive);
        Assert.Equal(sent + 2, dns.Queries.Count(Z.ThreeMx, "MX"));
    }

    [Fact]
    public async Task NoSuchDomainIsCachedForTheNegativeTtl()
    {
        var resolver = Resolver();
        int sent = dns.Queries.Count(Z.Missing, "A");
        Assert.Equal(DnsOutcome.NoSuchDomain, (await resolver.LookupAAsync(Z.Missing)).Outcome);
        clock.Advance(TimeSpan.FromSeconds(59));
        var cached = await resolver.LookupAAsync(Z.Missing);
        Assert.Equal(DnsOutcome.NoSuchDomain, cached.Outcome);
        Assert.True(cached.FromCache);
        Assert.Equal(TimeSpan.FromSeconds(1), cached.TimeToLive);
        Assert.Equal(sent + 1, dns.Queries.Count(Z.Missing, "A"));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False((await resolver.LookupAAsync(Z.Missing)).FromCache);
        Assert.Equal(sent + 2, dns.Queries.Count(Z.Missing, "A"));
    }

    [Fact]
    public async Task NoDataIsCachedPerTypeForTheNegativeTtl()
    {
        var resolver = Resolver();
        int sentMx = dns.Queries.Count(Z.AddressOnly, "MX");
        int sentA = dns.Queries.Count(Z.AddressOnly, "A");
        Assert.Equal(DnsOutcome.NoData, (await resolver.LookupMxAsync(Z.AddressOnly)).Outcome);
        Assert.Equal(DnsOutcome.Found, (await resolver.LookupAAsync(Z.AddressOnly)).Outcome);
        clock.Advance(TimeSpan.FromSeconds(30));
        var mx = await resolver.LookupMxAsync(Z.AddressOnly);
        Assert.Equal(DnsOutcome.NoData, mx.Outcome);
        Assert.True(mx.FromCache);
        Assert.Equal(TimeSpan.FromSeconds(30), mx.TimeToLive);
        Assert.Equal(TimeSpan.FromSeconds(90), (await resolver.LookupAAsync(Z.AddressOnly)).TimeToLive);
        Assert.Equal(sentMx + 1, dns.Queries.Count(Z.AddressOnly, "MX"));
        Assert.Equal(sentA + 1, dns.Queries.Count(Z.AddressOnly, "A"));

        clock.Advance(TimeSpan.FromSeconds(30));
        await resolver.LookupMxAsync(Z.AddressOnly);
        await resolver.LookupAAsync(Z.AddressOnly);
        Assert.Equal(sentMx + 2, dns.Queries.Count(Z.AddressOnly, "MX"));
        Assert.Equal(sentA + 1, dns.Queries.Count(Z.AddressOnly, "A"));
    }

    [Fact]
    public async Task TtlsAreCapped()
    {
        var resolver = Resolver(o =>
        {
            o.MaxTtl = TimeSpan.FromSeconds(1000);
            o.MaxNegativeTtl = TimeSpan.FromSeconds(10);
        });
        Assert.Equal(TimeSpan.FromSeconds(1000), (await resolver.LookupMxAsync(Z.ThreeMx)).TimeToLive);
        Assert.Equal(TimeSpan.FromSeconds(120), (await resolver.LookupAAsync(Z.AddressOnly)).TimeToLive);
        Assert.Equal(TimeSpan.FromSeconds(10), (await resolver.LookupMxAsync(Z.Missing)).TimeToLive);

        int sent = dns.Queries.Count(Z.ThreeMx, "MX");
        clock.Advance(TimeSpan.FromSeconds(1000));
        await resolver.LookupMxAsync(Z.ThreeMx);
        Assert.Equal(sent + 1, dns.Queries.Count(Z.ThreeMx, "MX"));
    }

    [Fact]
    public async Task CacheIsBoundedAndDropsTheLeastRecentlyUsed()
    {
        var resolver = Resolver(o => o.CacheSize = 2);
        int mx1 = dns.Queries.Count(Z.Mx1, "A"), mx2 = dns.Queries.Count(Z.Mx2, "A"), mx3 = dns.Queries.Count(Z.Mx3, "A");
        await resolver.LookupAAsync(Z.Mx1);
        await resolver.LookupAAsync(Z.Mx2);
        await resolver.LookupAAsync(Z.Mx1); // Mx1 is now the most recently used.
        await resolver.LookupAAsync(Z.Mx3); // Drops Mx2.
        Assert.Equal(2, resolver.CachedAnswers);
        Assert.True((await resolver.LookupAAsync(Z.Mx1)).FromCache);
        Assert.True((await resolver.LookupAAsync(Z.Mx3)).FromCache);
        Assert.False((await resolver.LookupAAsync(Z.Mx2)).FromCache);
        Assert.Equal((mx1 + 1, mx2 + 2, mx3 + 1),
            (dns.Queries.Count(Z.Mx1, "A"), dns.Queries.Count(Z.Mx2, "A"), dns.Queries.Count(Z.Mx3, "A")));
        Assert.Equal(2, resolver.CachedAnswers);
    }

    [Fact]
    public async Task CacheSizeZeroSendsEveryLookup()
    {
        var resolver = Resolver(o => o.CacheSize = 0);
        int sent = dns.Queries.Count(Z.NullMx, "MX");
        for (int i = 0; i < 3; i++) Assert.False((await resolver.LookupMxAsync(Z.NullMx)).FromCache);
        Assert.Equal(sent + 3, dns.Queries.Count(Z.NullMx, "MX"));
        Assert.Equal(0, resolver.CachedAnswers);
    }
}
