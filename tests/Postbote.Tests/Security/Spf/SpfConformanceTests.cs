using System.Collections.Concurrent;
using System.Net;
using Postbote.Dns;
using Postbote.Security.Spf;
using Postbote.Testing.Dns;
using Xunit.Abstractions;

namespace Postbote.Tests.Security.Spf;

/// <summary>Starts one nsd (the scenario's root zone) and one relay (which drops the queries that time out) per
/// scenario, when a test of it first runs; all are stopped at the end.</summary>
public sealed class SpfSuiteServers : IAsyncLifetime
{
    private readonly ConcurrentDictionary<int, Lazy<Task<(NsdServer Server, DnsQueryCounter Relay)>>> _servers = new();

    /// <summary>A resolver that asks the scenario's server through its relay: no retry, a short timeout, so that a
    /// dropped query is a temporary failure after 1.5 s (a loaded machine still answers well within it).</summary>
    public async Task<DnsResolver> ResolverAsync(int scenario)
    {
        var (_, relay) = await _servers.GetOrAdd(scenario, i => new(() => StartAsync(i))).Value;
        return new DnsResolver(new DnsResolverOptions
        {
            Servers = [relay.EndPoint],
            Timeout = TimeSpan.FromMilliseconds(1500),
            Retries = 0,
        });
    }

    private static async Task<(NsdServer, DnsQueryCounter)> StartAsync(int index)
    {
        SpfTestSuite.Scenario s = SpfTestSuite.Instance.Scenarios[index];
        NsdServer server = await NsdServer.StartAsync([new TestZone("", s.ZoneFile)]);
        DnsQueryCounter relay = DnsQueryCounter.Start(server.EndPoint);
        relay.Drop = (name, type) => s.Timeouts.TryGetValue(name, out HashSet<int>? answered) && !answered.Contains(type);
        return (server, relay);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var lazy in _servers.Values)
        {
            if (!lazy.IsValueCreated) continue;
            var (server, relay) = await lazy.Value;
            await relay.DisposeAsync();
            await server.DisposeAsync();
        }
    }
}

/// <summary>
/// RFC 7208's conformance suite through the real resolver path: every test of ../shared/conformance/spf/rfc7208-tests.yml
/// is one case here, its zones served by nsd on loopback, the check made by <see cref="SpfChecker"/> on
/// <see cref="DnsResolver"/>. Where the suite allows two results, either passes; an expected explanation is compared
/// exactly (<c>DEFAULT</c> is <see cref="SpfChecker.DefaultExplanation"/>).
/// </summary>
public sealed class SpfConformanceTests(SpfSuiteServers servers, ITestOutputHelper output) : IClassFixture<SpfSuiteServers>
{
    /// <summary>Every test of the suite, by scenario index and name.</summary>
    public static TheoryData<int, string> Cases
    {
        get
        {
            var data = new TheoryData<int, string>();
            foreach (SpfTestSuite.Case c in SpfTestSuite.Instance.Cases) data.Add(c.Scenario, c.Name);
            return data;
        }
    }

    [Fact]
    public void TheSuiteHas203TestsIn16Scenarios()
    {
        Assert.Equal(203, SpfTestSuite.Instance.Cases.Count);
        Assert.Equal(16, SpfTestSuite.Instance.Scenarios.Count);
        Assert.Equal(203, SpfTestSuite.Instance.Cases.Select(c => c.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Rfc7208Suite(int scenario, string name)
    {
        SpfTestSuite.Case c = SpfTestSuite.Instance.Cases.Single(x => x.Scenario == scenario && x.Name == name);
        DnsResolver resolver = await servers.ResolverAsync(scenario);
        var checker = new SpfChecker(resolver);
        var request = SpfRequest.ForMailFrom(IPAddress.Parse(c.Host), c.MailFrom, c.Helo, "receiver.spf-suite");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        SpfCheckResult result = await checker.CheckHostAsync(request, timeout.Token);
        output.WriteLine($"{c.Name}: {result.Keyword} ({result.Problem}) explanation: {result.Explanation}");
        Assert.Contains(result.Keyword, c.Results);
        if (c.Explanation is not null)
            Assert.Equal(c.Explanation == "DEFAULT" ? SpfChecker.DefaultExplanation : c.Explanation, result.Explanation);
    }
}
