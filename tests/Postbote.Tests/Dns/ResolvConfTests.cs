using System.Net;
using Postbote.Dns;

namespace Postbote.Tests.Dns;

/// <summary>The default of <c>dns.servers</c> (the nameserver lines of resolv.conf) and the syntax of one entry. Read
/// from files the test writes: never the machine's own.</summary>
public sealed class ResolvConfTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("postbote-resolvconf-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void NameserverLinesInOrderOnPort53()
    {
        string path = Path.Combine(dir, "resolv.conf");
        File.WriteAllText(path, """
            # written by a test
            search example.com
            nameserver 192.0.2.53
            ; nameserver 192.0.2.99
              nameserver   2001:db8::53
            nameserver not-an-address
            options timeout:1 attempts:1
            nameserver 127.0.0.53 # trailing words are ignored
            """);
        Assert.Equal(
            [new IPEndPoint(IPAddress.Parse("192.0.2.53"), 53), new IPEndPoint(IPAddress.Parse("2001:db8::53"), 53), new IPEndPoint(IPAddress.Parse("127.0.0.53"), 53)],
            ResolvConf.ReadNameServers(path));
    }

    [Fact]
    public void NoNameserverMeansTheLocalMachine()
    {
        string path = Path.Combine(dir, "resolv.conf");
        File.WriteAllText(path, "search example.com\n");
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 53)], ResolvConf.ReadNameServers(path));
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 53)], ResolvConf.ReadNameServers(Path.Combine(dir, "missing")));
    }

    [Theory]
    [InlineData("127.0.0.1:5353", "127.0.0.1:5353")]
    [InlineData("127.0.0.1", "127.0.0.1:53")]
    [InlineData("::1", "[::1]:53")]
    [InlineData("[::1]", "[::1]:53")]
    [InlineData("[::1]:5353", "[::1]:5353")]
    [InlineData("2001:db8::1", "[2001:db8::1]:53")]
    [InlineData("::1:53", "[::0.1.0.83]:53")] // the IPv6 address ::1:53, not ::1 port 53: a port after IPv6 needs brackets
    public void ServerEntries(string text, string expected)
    {
        Assert.True(ResolvConf.TryParseServer(text, out IPEndPoint? server));
        Assert.Equal(expected, server!.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("dns.example.com")]
    [InlineData("localhost:53")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:")]
    [InlineData("127.1")]
    [InlineData("127.0.0.1 ")]
    [InlineData("[127.0.0.1]:53")]
    [InlineData("[::1]53")]
    [InlineData("::1:53:")]
    public void NotServerEntries(string text) => Assert.False(ResolvConf.TryParseServer(text, out _));
}
