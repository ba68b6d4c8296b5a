using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>The <c>[dns]</c> table of docs/configuration.md: a right one is taken, a wrong value stops the command with one
/// line that names the setting and the reason (exit 2).</summary>
public sealed class DnsSettingTests : IDisposable
{
    private readonly PostboteCli cli = new();

    public void Dispose() => cli.Dispose();

    private string Config(string dns) => cli.ConfigWithTable("dns", dns);

    [Fact]
    public async Task EverySettingIsTaken()
    {
        var r = await cli.RunAsync("queue", "list", "--config", Config("""
            servers = ["127.0.0.1:5353", "[::1]:53", "192.0.2.53"]
            timeout = 2.5
            retries = 0
            cache_size = 0
            max_ttl = 3600
            max_negative_ttl = 60
            """));
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Equal("queue is empty\n", r.StandardOutput);
        Assert.StartsWith("postbote: data directory ", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("dns", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""servers = ["dns.example.com"]""", "dns.servers: 'dns.example.com' is not an IP address with an optional port (e.g. 127.0.0.1:5353 or [::1]:53)")]
    [InlineData("""servers = ["127.0.0.1:0"]""", "dns.servers: '127.0.0.1:0' is not an IP address with an optional port (e.g. 127.0.0.1:5353 or [::1]:53)")]
    [InlineData("""servers = ["[::1]:99999"]""", "dns.servers: '[::1]:99999' is not an IP address with an optional port (e.g. 127.0.0.1:5353 or [::1]:53)")]
    [InlineData("""servers = []""", "dns.servers must name at least one server (leave it out for those of /etc/resolv.conf)")]
    [InlineData("""servers = "127.0.0.1" """, "dns.servers must be an array of strings")]
    [InlineData("""timeout = 0""", "dns.timeout must be between 0.1 and 60 seconds")]
    [InlineData("""timeout = -1""", "dns.timeout must be a non-negative number of seconds")]
    [InlineData("""retries = 11""", "dns.retries must be between 0 and 10")]
    [InlineData("""cache_size = -1""", "dns.cache_size must be between 0 and 10000000")]
    [InlineData("""max_ttl = 1e300""", "dns.max_ttl must be at most 2147483647 seconds")]
    [InlineData("""max_negative_ttl = 9999999999""", "dns.max_negative_ttl must be at most 2147483647 seconds")]
    [InlineData("""server = ["127.0.0.1"]""", "unknown setting 'dns.server' (see docs/configuration.md)")]
    public async Task WrongValueIsOneLineNamingTheSetting(string dns, string message)
    {
        string path = Config(dns);
        var r = await cli.RunAsync("serve", "--config", path);
        Assert.False(r.TimedOut, r.Output);
        Assert.True(r.ExitCode == 2, r.Output);
        Assert.Equal($"postbote: {path}: {message}\n", r.StandardError);
    }

    /// <summary>A huge number of seconds used to escape as an unhandled OverflowException with a stack trace.</summary>
    [Fact]
    public async Task HugeSecondsElsewhereAreOneLineToo()
    {
        string path = cli.Config($"""
            data_dir = "{cli.Combine("data")}"
            [smtp]
            listen = ["127.0.0.1:{FreePorts.Next()}"]
            [limits]
            idle_timeout = 1e300
            """);
        var r = await cli.RunAsync("serve", "--config", path);
        Assert.True(r.ExitCode == 2, r.Output);
        Assert.Equal($"postbote: {path}: limits.idle_timeout must be at most 2147483647 seconds\n", r.StandardError);
    }
}
