using System.Net;
using System.Net.Sockets;
using Postbote.Routing;

namespace Postbote.Tests.Routing;

/// <summary>The transport notation of <c>[relay.transports]</c> and <c>[relay] smarthost</c>.</summary>
public class TransportTests
{
    [Theory]
    [InlineData("smtp:[127.0.0.1]:2600", TransportKind.Smtp, "127.0.0.1", 2600, "smtp:[127.0.0.1]:2600")]
    [InlineData("SMTP:[Mail.Example.NET.]", TransportKind.Smtp, "mail.example.net", 25, "smtp:[mail.example.net]:25")]
    [InlineData("lmtp:[127.0.0.1]", TransportKind.Lmtp, "127.0.0.1", 24, "lmtp:[127.0.0.1]:24")]
    [InlineData("lmtp:[::1]:2424", TransportKind.Lmtp, "::1", 2424, "lmtp:[::1]:2424")]
    [InlineData(" smtp:[relay.example.net]:587 ", TransportKind.Smtp, "relay.example.net", 587, "smtp:[relay.example.net]:587")]
    public void Parses_host_transports(string text, TransportKind kind, string host, int port, string canonical)
    {
        Transport t = Transport.Parse(text);
        Assert.Equal(kind, t.Kind);
        Assert.Equal(host, t.Host);
        Assert.Equal(port, t.Port);
        Assert.False(t.IsUnix);
        Assert.Equal(canonical, t.ToString());
        Assert.Equal(t, Transport.Parse(t.ToString()));
    }

    [Fact]
    public void Parses_an_lmtp_unix_socket()
    {
        Transport t = Transport.Parse("lmtp:unix:/run/dovecot/lmtp");
        Assert.Equal(TransportKind.Lmtp, t.Kind);
        Assert.Equal("/run/dovecot/lmtp", t.UnixPath);
        Assert.True(t.IsUnix);
        Assert.Equal("lmtp:unix:/run/dovecot/lmtp", t.ToString());
        Assert.IsType<UnixDomainSocketEndPoint>(t.EndPoint);
    }

    [Fact]
    public void A_smarthost_needs_no_prefix()
    {
        Transport t = Transport.Parse("[192.0.2.7]:587", TransportKind.Smtp);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 587), t.EndPoint);
        Assert.Equal(new DnsEndPoint("smtp.example.net", 25), Transport.Parse("[smtp.example.net]", TransportKind.Smtp).EndPoint);
    }

    [Theory]
    [InlineData("[127.0.0.1]:25", "does not start with smtp: or lmtp:")]
    [InlineData("smtp:127.0.0.1:25", "the host goes in brackets")]
    [InlineData("smtp:[127.0.0.1:25", "no closing bracket")]
    [InlineData("smtp:[]:25", "is not a host name or IP address")]
    [InlineData("smtp:[a b]:25", "is not a host name or IP address")]
    [InlineData("smtp:[127.0.0.1]:0", "the port must be a number from 1 to 65535")]
    [InlineData("smtp:[127.0.0.1]:70000", "the port must be a number from 1 to 65535")]
    [InlineData("smtp:[127.0.0.1]25", "the port must be a number from 1 to 65535")]
    [InlineData("smtp:[127.0.0.1]:-1", "the port must be a number from 1 to 65535")]
    [InlineData("smtp:unix:/tmp/s", "a unix socket is for lmtp: only")]
    [InlineData("lmtp:unix:relative/s", "the socket path must be absolute")]
    [InlineData("smtp:[fe80::1::2]:25", "is not an IPv6 address")]
    public void Refuses_malformed_transports_with_one_line(string text, string reason)
    {
        var e = Assert.Throws<FormatException>(() => Transport.Parse(text));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void The_table_matches_the_exact_domain_then_the_nearest_dotted_parent()
    {
        var a = Transport.Parse("smtp:[127.0.0.1]:2600");
        var b = Transport.Parse("lmtp:unix:/run/lmtp");
        var c = Transport.Parse("smtp:[127.0.0.3]:25");
        var table = new TransportTable(new Dictionary<string, Transport>
        {
            ["Example.NET."] = a,
            [".example.net"] = b,
            [".net"] = c,
        });
        Assert.Same(a, table.Find("example.net"));
        Assert.Same(a, table.Find("EXAMPLE.net."));
        Assert.Same(b, table.Find("mx.example.net"));
        Assert.Same(b, table.Find("a.b.example.net"));
        Assert.Same(c, table.Find("other.net"));
        Assert.Null(table.Find("example.org"));
        Assert.Null(table.Find("net"));
        Assert.Null(TransportTable.Empty.Find("example.net"));
    }
}
