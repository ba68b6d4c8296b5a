using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Dns;
using Postbote.Security;
using Postbote.Security.Dmarc;
using Postbote.Testing.Dns;

namespace Postbote.Tests.Security.Dmarc;

/// <summary>A zone with DMARC records for the table below.</summary>
public sealed class DmarcZonesFixture : DnsServerFixture
{
    protected override IReadOnlyList<TestZone> Zones =>
    [
        new("dmarc.test", """
            $ORIGIN dmarc.test.
            $TTL 300
            @   IN SOA ns.dmarc.test. hostmaster.dmarc.test. 1 3600 600 86400 60
            @   IN NS  ns
            ns  IN A   127.0.0.1
            _dmarc       IN TXT "v=DMARC1; p=quarantine; sp=reject; adkim=s"
            _dmarc.half  IN TXT "v=DMARC1; p=reject; pct=50"
            _dmarc.two   IN TXT "v=DMARC1; p=reject"
            _dmarc.two   IN TXT "v=DMARC1; p=none"
            """),
    ];
}

/// <summary>DMARC's decisions through the real resolver, with the pct= sample drawn from a fixed source.</summary>
public sealed class DmarcUnitTests(DmarcZonesFixture dns) : IClassFixture<DmarcZonesFixture>
{
    private sealed class FixedRandom(int value) : Random
    {
        public override int Next(int maxValue) => value;
    }

    private async Task<(PolicyDecision Decision, string Rendered)> RunAsync(string from, int sample, params AuthenticationResult[] earlier)
    {
        var resolver = new DnsResolver(new DnsResolverOptions { Servers = [dns.EndPoint] });
        var policy = new DmarcPolicy(resolver, PublicSuffixList.LoadEmbedded(), new DmarcOptions(), new FixedRandom(sample), NullLogger.Instance);
        var t = new PolicyTransaction(new Mailbox("a", "bounce.example"));
        foreach (AuthenticationResult r in earlier) t.Add(r);
        byte[] header = Encoding.ASCII.GetBytes($"From: Someone <x@{from}>\r\nSubject: s\r\n\r\n");
        var message = new InboundMessage(QueueId.New(DateTimeOffset.UtcNow), t, [], header, true, header.Length, () => new MemoryStream(header));
        var session = new SessionInfo("s1", new IPEndPoint(IPAddress.Parse("127.0.0.9"), 1), new IPEndPoint(IPAddress.Loopback, 25), false);
        PolicyDecision d = await policy.CheckDataAsync(session, message, CancellationToken.None);
        return (d, AuthenticationResultsPolicy.Render("mx.test", t.Results));
    }

    [Theory]
    [InlineData("half.dmarc.test", 49, PolicyVerdict.Reject, false, "dmarc=fail (p=reject dis=reject) header.from=half.dmarc.test policy.dmarc=reject")]
    [InlineData("half.dmarc.test", 50, PolicyVerdict.Accept, true, "dmarc=fail (p=reject dis=quarantine) header.from=half.dmarc.test policy.dmarc=quarantine")]
    [InlineData("dmarc.test", 0, PolicyVerdict.Accept, true, "dmarc=fail (p=quarantine dis=quarantine) header.from=dmarc.test policy.dmarc=quarantine")]
    [InlineData("sub.dmarc.test", 0, PolicyVerdict.Reject, false, "dmarc=fail (p=reject dis=reject) header.from=sub.dmarc.test policy.dmarc=reject")]
    [InlineData("two.dmarc.test", 0, PolicyVerdict.Reject, false, "dmarc=fail (p=reject dis=reject) header.from=two.dmarc.test policy.dmarc=reject")]
    public async Task PolicyTable(string from, int sample, PolicyVerdict verdict, bool quarantine, string result)
    {
        var (d, rendered) = await RunAsync(from, sample);
        Assert.Equal(verdict, d.Verdict);
        Assert.Equal(quarantine, d.Quarantine);
        Assert.Equal("Authentication-Results: mx.test;\r\n\t" + result, rendered);
    }

    [Fact]
    public async Task StrictDkimAlignmentNeedsTheSameDomain()
    {
        // adkim=s at dmarc.test: a signature of sub.dmarc.test does not align with From: dmarc.test.
        var dkim = new AuthenticationResult("dkim", "pass", null, [new("header", "d", "sub.dmarc.test")]);
        var (d, _) = await RunAsync("dmarc.test", 0, dkim);
        Assert.True(d.Quarantine);
        var exact = new AuthenticationResult("dkim", "pass", null, [new("header", "d", "dmarc.test")]);
        (d, string rendered) = await RunAsync("dmarc.test", 0, exact);
        Assert.False(d.Quarantine);
        Assert.EndsWith("\tdmarc=pass header.from=dmarc.test policy.dmarc=quarantine", rendered, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mail.example.co.uk", "example.co.uk")]
    [InlineData("a.b.example.com", "example.com")]
    [InlineData("com", "com")]
    [InlineData("x.y.dmarc.test", "dmarc.test")]
    public void OrganizationalDomainFollowsThePublicSuffixList(string domain, string org) =>
        Assert.Equal(org, PublicSuffixList.LoadEmbedded().OrganizationalDomain(domain));

    /// <summary>The From: domains as DMARC reads them from the header section: a folded field unfolded, the name in any
    /// case, each From: field counted, a body line that looks like a field not read.</summary>
    [Theory]
    [InlineData("From: A <a@Example.ORG>\r\nTo: b@x.test\r\n\r\n", "example.org")]
    [InlineData("Subject: s\r\nfrom:\r\n  \"Folded Name\"\r\n\t<a@folded.test>\r\n\r\n", "folded.test")]
    [InlineData("From: a@one.test, b@two.test\r\n\r\n", "one.test|two.test")]
    [InlineData("From: a@one.test\r\nFrom: b@one.test\r\n\r\n", "one.test|one.test (twice)")]
    [InlineData("Subject: no author\r\n\r\n", "")]
    public void FromDomainsReadTheFromFields(string section, string expected) =>
        Assert.Equal(expected, string.Join('|', DmarcPolicy.FromDomains(Encoding.UTF8.GetBytes(section))));
}
