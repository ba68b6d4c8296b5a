using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>The <c>[dnsbl]</c>, <c>[dnswl]</c>, <c>[greylist]</c> and <c>[rate_limits]</c> tables and
/// <c>[smtp] greet_pause</c>: a wrong value stops the server with one line naming the setting and the reason (exit 2).</summary>
public sealed class UbeSettingTests : IDisposable
{
    private readonly PostboteCli cli = new();

    public void Dispose() => cli.Dispose();

    [Theory]
    [InlineData("dnsbl", """zones = ["bl .test"]""", "dnsbl.zones: 'bl .test' does not start with a DNS zone such as zen.example.org")]
    [InlineData("dnsbl", """zones = ["bl.test=127.0.0"]""", "dnsbl.zones: 'bl.test=127.0.0': the answer filter '127.0.0' needs four octets, e.g. 127.0.0.2 or 127.0.0.[2..11]")]
    [InlineData("dnsbl", """zones = ["bl.test=127.0.0.[9..2]"]""", "dnsbl.zones: 'bl.test=127.0.0.[9..2]': '[9..2]' is not an octet filter (a number 0-255, or [a..b] / [a;b;c] in brackets)")]
    [InlineData("dnsbl", """action = "drop" """, "dnsbl.action must be \"reject\" or \"record\", got 'drop'")]
    [InlineData("dnswl", """zones = "wl.test" """, "dnswl.zones must be an array of strings")]
    [InlineData("greylist", "delay = 0", "greylist.delay must be more than 0 seconds")]
    [InlineData("greylist", "delay = 600\nretry_window = 300", "greylist.retry_window must be longer than greylist.delay")]
    [InlineData("greylist", "network_prefix_v4 = 33", "greylist.network_prefix_v4 must be between 8 and 32")]
    [InlineData("greylist", "enable = true", "unknown setting 'greylist.enable' (see docs/configuration.md)")]
    [InlineData("rate_limits", "connections_per_client = -1", "rate_limits.connections_per_client must be between 0 and 1000000")]
    [InlineData("rate_limits", "messages_per_hour = 5", "unknown setting 'rate_limits.messages_per_hour' (see docs/configuration.md)")]
    public async Task WrongValueIsOneLineNamingTheSetting(string table, string body, string message)
    {
        string path = cli.ConfigWithTable(table, body);
        var r = await cli.RunAsync("serve", "--config", path);
        Assert.False(r.TimedOut, r.Output);
        Assert.True(r.ExitCode == 2, r.Output);
        Assert.Equal($"postbote: {path}: {message}\n", r.StandardError);
    }

    [Fact]
    public async Task GreetPauseOverAMinuteIsRefused()
    {
        string path = cli.Config($"""
            data_dir = "{cli.Combine("data")}"
            [smtp]
            listen = ["127.0.0.1:{FreePorts.Next()}"]
            greet_pause = 61
            """);
        var r = await cli.RunAsync("serve", "--config", path);
        Assert.True(r.ExitCode == 2, r.Output);
        Assert.Equal($"postbote: {path}: smtp.greet_pause must be at most 60 seconds\n", r.StandardError);
    }
}
