using System.Net;
using Postbote.Dns;
using Postbote.Testing.Dns;
using Z = Postbote.Testing.Dns.PostboteTestZones;

namespace Postbote.Tests.Dns;

/// <summary>What each record type and each outcome looks like, against nsd serving <see cref="PostboteTestZones"/>.</summary>
[Collection(DnsServerCollection.Name)]
public sealed class DnsResolverAnswerTests(DnsServerFixture dns)
{
    private static readonly TimeSpan NegativeTtl = TimeSpan.FromSeconds(60);

    private DnsResolver Resolver() => new(new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) }, new ManualTimeProvider());

    [Fact]
    public async Task ThreeMxAtTwoPreferencesInPreferenceOrder()
    {
        var r = await Resolver().LookupMxAsync(Z.ThreeMx);
        Assert.Equal(DnsOutcome.Found, r.Outcome);
        Assert.Equal([new MxRecord(10, Z.Mx1), new MxRecord(10, Z.Mx2), new MxRecord(20, Z.Mx3)], r.Records);
        Assert.Equal(TimeSpan.FromSeconds(3600), r.TimeToLive);
        Assert.False(MxRecord.IsNullMxSet(r.Records));
        Assert.Equal(Z.ThreeMx, r.Name);
        Assert.Null(r.Failure);
        Assert.False(r.FromCache);
    }

    [Fact]
    public async Task DomainWithoutMxIsNoDataAndHasAddresses()
    {
        var resolver = Resolver();
        var mx = await resolver.LookupMxAsync(Z.AddressOnly);
        Assert.Equal(DnsOutcome.NoData, mx.Outcome);
        Assert.Empty(mx.Records);
        Assert.Equal(NegativeTtl, mx.TimeToLive);

        var a = await resolver.LookupAAsync(Z.AddressOnly);
        Assert.Equal(DnsOutcome.Found, a.Outcome);
        Assert.Equal([IPAddress.Parse("127.0.0.21")], a.Records);
        Assert.Equal(TimeSpan.FromSeconds(120), a.TimeToLive);

        var aaaa = await resolver.LookupAaaaAsync(Z.AddressOnly);
        Assert.Equal(DnsOutcome.Found, aaaa.Outcome);
        Assert.Equal([IPAddress.IPv6Loopback], aaaa.Records);
        Assert.Equal(TimeSpan.FromSeconds(120), aaaa.TimeToLive);
    }

    [Fact]
    public async Task AddressOfAnExchange()
    {
        var a = await Resolver().LookupAAsync(Z.Mx1);
        Assert.Equal([IPAddress.Parse("127.0.0.11")], a.Records);
        Assert.Equal(TimeSpan.FromSeconds(300), a.TimeToLive);
    }

    [Fact]
    public async Task NullMxIsRecognised()
    {
        var r = await Resolver().LookupMxAsync(Z.NullMx);
        Assert.Equal(DnsOutcome.Found, r.Outcome);
        MxRecord only = Assert.Single(r.Records);
        Assert.Equal(new MxRecord(0, "."), only);
        Assert.True(only.IsNullMx);
        Assert.True(MxRecord.IsNullMxSet(r.Records));
        Assert.Equal(TimeSpan.FromSeconds(600), r.TimeToLive);
    }

    [Fact]
    public async Task MissingDomainIsNoSuchDomainWithTheSoaNegativeTtl()
    {
        var resolver = Resolver();
        var mx = await resolver.LookupMxAsync(Z.Missing);
        Assert.Equal(DnsOutcome.NoSuchDomain, mx.Outcome);
        Assert.Empty(mx.Records);
        Assert.Equal(NegativeTtl, mx.TimeToLive);
        Assert.Equal(DnsOutcome.NoSuchDomain, (await resolver.LookupAAsync(Z.Missing)).Outcome);
    }

    [Fact]
    public async Task TxtLongerThan255OctetsKeepsItsStrings()
    {
        var r = await Resolver().LookupTxtAsync(Z.LongTxt);
        Assert.Equal(DnsOutcome.Found, r.Outcome);
        TxtRecord txt = Assert.Single(r.Records);
        Assert.Equal([Z.LongTxtFirst, Z.LongTxtSecond], txt.Strings);
        Assert.Equal(255, txt.Strings[0].Length);
        Assert.Equal(Z.LongTxtFirst + Z.LongTxtSecond, txt.Text);
        Assert.Equal(255 + 29, txt.Text.Length);
        Assert.StartsWith("v=spf1 ip4:127.0.1.0/24 ip4:127.0.2.0/24", txt.Text, StringComparison.Ordinal);
        Assert.EndsWith(" ip4:127.0.0.0/8 ip6:::1 -all", txt.Text, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(900), r.TimeToLive);
    }

    [Fact]
    public async Task PtrOfIPv4AndIPv6()
    {
        var resolver = Resolver();
        var v4 = await resolver.LookupPtrAsync(IPAddress.Parse("127.0.0.11"));
        Assert.Equal("11.0.0.127.in-addr.arpa", v4.Name);
        Assert.Equal([Z.Mx1], v4.Records);
        Assert.Equal(TimeSpan.FromSeconds(300), v4.TimeToLive);

        var v6 = await resolver.LookupPtrAsync(IPAddress.IPv6Loopback);
        Assert.Equal("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa", v6.Name);
        Assert.Equal([Z.AddressOnly], v6.Records);

        var mapped = await resolver.LookupPtrAsync(IPAddress.Parse("::ffff:127.0.0.21"));
        Assert.Equal([Z.AddressOnly], mapped.Records);

        var none = await resolver.LookupPtrAsync(IPAddress.Parse("127.0.0.99"));
        Assert.Equal(DnsOutcome.NoSuchDomain, none.Outcome);
    }

    [Fact]
    public async Task CnameIsFollowedAndItsTtlCounts()
    {
        var r = await Resolver().LookupAAsync(Z.Alias);
        Assert.Equal([IPAddress.Parse("127.0.0.21")], r.Records);
        Assert.Equal(TimeSpan.FromSeconds(120), r.TimeToLive);
    }

    [Fact]
    public async Task NamesAreAskedLowerCaseWithoutTrailingDotAndIdnAsALabels()
    {
        var resolver = Resolver();
        var upper = await resolver.LookupMxAsync("THREE-MX.Postbote.Test.");
        Assert.Equal(Z.ThreeMx, upper.Name);
        Assert.Equal(3, upper.Records.Count);

        int before = dns.Queries.Count("xn--bcher-kva.postbote.test", "MX");
        var idn = await resolver.LookupMxAsync("bücher.postbote.test");
        Assert.Equal("xn--bcher-kva.postbote.test", idn.Name);
        Assert.Equal(DnsOutcome.NoSuchDomain, idn.Outcome);
        Assert.Equal(before + 1, dns.Queries.Count("xn--bcher-kva.postbote.test", "MX"));

        var dkim = await resolver.LookupTxtAsync("sel._domainkey.postbote.test");
        Assert.Equal(DnsOutcome.NoSuchDomain, dkim.Outcome);
    }

    [Theory]
    [InlineData("", "'' is not a domain name")]
    [InlineData(".", "'' is not a domain name")]
    [InlineData("a..b", "'a..b' is not a domain name: a label is empty or longer than 63 characters")]
    [InlineData("a b.test", "'a b.test' is not a domain name: ' ' is not allowed")]
    [InlineData("x@y.test", "'x@y.test' is not a domain name: '@' is not allowed")]
    [InlineData("[127.0.0.1]", "'[127.0.0.1]' is not a domain name: '[' is not allowed")]
    public async Task ANameThatIsNoDomainIsRefusedBeforeAnyQuery(string name, string message)
    {
        int before = dns.Queries.Total;
        var e = await Assert.ThrowsAsync<ArgumentException>(async () => await Resolver().LookupMxAsync(name));
        Assert.Equal(message + " (Parameter 'name')", e.Message);
        Assert.Equal(before, dns.Queries.Total);
    }

    [Fact]
    public async Task LabelAndNameLengthsAreBounded()
    {
        var resolver = Resolver();
        await Assert.ThrowsAsync<ArgumentException>(async () => await resolver.LookupAAsync(new string('a', 64) + ".test"));
        await Assert.ThrowsAsync<ArgumentException>(async () => await resolver.LookupAAsync(string.Join('.', Enumerable.Repeat(new string('a', 63), 4))));
        var longest = await resolver.LookupAAsync(new string('a', 63) + "." + Z.Zone);
        Assert.Equal(DnsOutcome.NoSuchDomain, longest.Outcome);
    }
}
