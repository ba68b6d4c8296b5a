using System.Net;
using Postbote.Security.Ube;

namespace Postbote.Tests.Security.Ube;

/// <summary>RFC 5782 query names and Postfix-style answer filters.</summary>
public sealed class DnsListZoneTests
{
    [Theory]
    // RFC 5782 §2.1: 192.0.2.99 is asked as 99.2.0.192.<zone>.
    [InlineData("192.0.2.99", "99.2.0.192.bl.example")]
    [InlineData("::ffff:192.0.2.99", "99.2.0.192.bl.example")]
    // RFC 5782 §2.4: the IPv6 address as 32 nibbles, least significant first.
    [InlineData("2001:db8:1:2:3:4:567:89ab", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example")]
    [InlineData("::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example")]
    public void QueryNameReversesTheAddress(string client, string name) =>
        Assert.Equal(name, DnsListZone.Parse("BL.Example.").QueryName(IPAddress.Parse(client)));

    [Theory]
    [InlineData("bl.example", "127.0.0.2", true)]
    [InlineData("bl.example", "127.255.255.254", true)]
    [InlineData("bl.example", "192.0.2.1", false)] // outside 127/8: a wildcard, not a listing
    [InlineData("bl.example=127.0.0.2", "127.0.0.2", true)]
    [InlineData("bl.example=127.0.0.2", "127.0.0.3", false)]
    [InlineData("bl.example=127.0.0.[2..11]", "127.0.0.11", true)]
    [InlineData("bl.example=127.0.0.[2..11]", "127.0.0.12", false)]
    [InlineData("bl.example=127.0.0.[2..11]", "127.0.0.1", false)]
    [InlineData("bl.example=127.0.[0;1].[2;4..7]", "127.0.1.5", true)]
    [InlineData("bl.example=127.0.[0;1].[2;4..7]", "127.0.1.3", false)]
    [InlineData("bl.example=127.0.[0;1].[2;4..7]", "127.0.2.2", false)]
    public void FilterDecidesWhichAnswersAreListings(string entry, string answer, bool listed) =>
        Assert.Equal(listed, DnsListZone.Parse(entry).Matches(IPAddress.Parse(answer)));

    [Theory]
    [InlineData("")]
    [InlineData("bl..example")]
    [InlineData("bl example")]
    [InlineData("bl.example=127.0.0")]
    [InlineData("bl.example=127.0.0.256")]
    [InlineData("bl.example=127.0.0.[5..2]")]
    [InlineData("bl.example=127.0.0.[]")]
    [InlineData("bl.example=127.0.0.2-5")]
    public void MalformedEntryIsRefused(string entry) => Assert.Throws<FormatException>(() => DnsListZone.Parse(entry));

    [Fact]
    public void EntryIsWrittenBackAsConfigured()
    {
        Assert.Equal("bl.example=127.0.0.[2..11]", DnsListZone.Parse("BL.example=127.0.0.[2..11]").ToString());
        Assert.Equal("bl.example", DnsListZone.Parse("bl.example.").ToString());
    }
}
