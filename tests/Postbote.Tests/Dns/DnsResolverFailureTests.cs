using System.Diagnostics;
using Postbote.Dns;
using Postbote.Testing.Dns;
using Z = Postbote.Testing.Dns.PostboteTestZones;

namespace Postbote.Tests.Dns;

/// <summary>Temporary failures: SERVFAIL, REFUSED, a server that does not answer. None is cached, each is told apart
/// from NXDOMAIN and NODATA, and the next server is asked.</summary>
[Collection(DnsServerCollection.Name)]
public sealed class DnsResolverFailureTests(DnsServerFixture dns)
{
    private readonly ManualTimeProvider clock = new();

    [Fact]
    public async Task ServFailIsATemporaryFailureAndNotCached()
    {
        var resolver = new DnsResolver(new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retries = 0 }, clock);
        string name = "mx." + Z.ServFailZone;
        int sent = dns.Queries.Count(name, "A");
        var r = await resolver.LookupAAsync(name);
        Assert.Equal(DnsOutcome.TemporaryFailure, r.Outcome);
        Assert.Equal($"SERVFAIL from {dns.EndPoint}", r.Failure);
        Assert.Empty(r.Records);
        Assert.Equal(TimeSpan.Zero, r.TimeToLive);
        Assert.Equal(sent + 1, dns.Queries.Count(name, "A"));

        Assert.False((await resolver.LookupAAsync(name)).FromCache);
        Assert.Equal(sent + 2, dns.Queries.Count(name, "A"));
    }

    [Fact]
    public async Task ServFailIsAskedAgainLikeATimeout()
    {
        var resolver = new DnsResolver(new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retries = 2 }, clock);
        string name = "retried." + Z.ServFailZone;
        int sent = dns.Queries.Count(name, "TXT");
        Assert.Equal(DnsOutcome.TemporaryFailure, (await resolver.LookupTxtAsync(name)).Outcome);
        Assert.Equal(sent + 3, dns.Queries.Count(name, "TXT"));
    }

    [Fact]
    public async Task RefusedIsATemporaryFailure()
    {
        var resolver = new DnsResolver(new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) }, clock);
        var r = await resolver.LookupMxAsync(Z.Refused);
        Assert.Equal(DnsOutcome.TemporaryFailure, r.Outcome);
        Assert.Equal($"REFUSED from {dns.EndPoint}", r.Failure);
    }

    [Fact]
    public async Task ServerThatDoesNotAnswerIsATemporaryFailureAfterTheSetTries()
    {
        var resolver = new DnsResolver(new DnsResolverOptions
        {
            Servers = [dns.SilentEndPoint],
            Timeout = TimeSpan.FromMilliseconds(300),
            Retries = 2,
        }, clock);
        int sent = dns.Silent.Count(Z.ThreeMx, "MX");
        var clockOnTheWall = Stopwatch.StartNew();
        var r = await resolver.LookupMxAsync(Z.ThreeMx);
        TimeSpan took = clockOnTheWall.Elapsed;
        Assert.Equal(DnsOutcome.TemporaryFailure, r.Outcome);
        Assert.Equal($"no answer from {dns.SilentEndPoint} within 0.3 s (3 tries each)", r.Failure);
        Assert.Equal(sent + 3, dns.Silent.Count(Z.ThreeMx, "MX"));
        Assert.InRange(took, TimeSpan.FromMilliseconds(850), TimeSpan.FromSeconds(10));

        await resolver.LookupMxAsync(Z.ThreeMx);
        Assert.Equal(sent + 6, dns.Silent.Count(Z.ThreeMx, "MX"));
    }

    [Fact]
    public async Task NextServerIsAskedWhenTheFirstDoesNotAnswer()
    {
        var resolver = new DnsResolver(new DnsResolverOptions
        {
            Servers = [dns.SilentEndPoint, dns.EndPoint],
            Timeout = TimeSpan.FromSeconds(1),
            Retries = 0,
        }, clock);
        int silent = dns.Silent.Count(Z.NullMx, "MX");
        int answered = dns.Queries.Count(Z.NullMx, "MX");
        var r = await resolver.LookupMxAsync(Z.NullMx);
        Assert.True(DnsOutcome.Found == r.Outcome, r.Failure);
        Assert.True(MxRecord.IsNullMxSet(r.Records));
        Assert.Equal(silent + 1, dns.Silent.Count(Z.NullMx, "MX"));
        Assert.Equal(answered + 1, dns.Queries.Count(Z.NullMx, "MX"));
    }

    [Fact]
    public async Task CancellationEndsTheWait()
    {
        var resolver = new DnsResolver(new DnsResolverOptions { Servers = [dns.SilentEndPoint], Timeout = TimeSpan.FromSeconds(30) }, clock);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clockOnTheWall = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await resolver.LookupAAsync(Z.Mx1, cancel.Token));
        Assert.True(clockOnTheWall.Elapsed < TimeSpan.FromSeconds(10), clockOnTheWall.Elapsed.ToString());
    }
}
