using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>The <c>[relay]</c> table of docs/configuration.md: a right one is taken, a wrong value stops the command with
/// one line that names the setting and the reason (exit 2).</summary>
public sealed class RelaySettingTests : IDisposable
{
    private readonly PostboteCli cli = new();

    public void Dispose() => cli.Dispose();

    private string Config(string relay) => cli.ConfigWithTable("relay", relay);

    [Fact]
    public async Task EverySettingIsTaken()
    {
        var r = await cli.RunAsync("queue", "list", "--config", Config("""
            port = 2600
            connect_timeout = 2.5
            helo_name = "out.example.net"
            bind_address = "127.0.0.77"
            bind_address6 = "::1"
            address_preference = "ipv6"
            """));
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Equal("queue is empty\n", r.StandardOutput);
        Assert.DoesNotContain("relay", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("port = 0", "relay.port must be between 1 and 65535")]
    [InlineData("port = 65536", "relay.port must be between 1 and 65535")]
    [InlineData("port = \"25\"", "relay.port must be an integer")]
    [InlineData("connect_timeout = 0", "relay.connect_timeout must be between 0.1 and 3600 seconds")]
    [InlineData("connect_timeout = 3601", "relay.connect_timeout must be between 0.1 and 3600 seconds")]
    [InlineData("connect_timeout = -1", "relay.connect_timeout must be a non-negative number of seconds")]
    [InlineData("helo_name = \"bad name\"", "relay.helo_name must be a domain name (letters, digits, hyphens and dots), got 'bad name'")]
    [InlineData("bind_address = \"::1\"", "relay.bind_address must be an IPv4 address such as 192.0.2.25, got '::1'")]
    [InlineData("bind_address = \"127.0.0.1:25\"", "relay.bind_address must be an IPv4 address such as 192.0.2.25, got '127.0.0.1:25'")]
    [InlineData("bind_address6 = \"127.0.0.1\"", "relay.bind_address6 must be an IPv6 address such as 2001:db8::25, got '127.0.0.1'")]
    [InlineData("address_preference = \"both\"", "relay.address_preference must be \"any\", \"ipv4\" or \"ipv6\"")]
    [InlineData("ports = 25", "unknown setting 'relay.ports' (see docs/configuration.md)")]
    public async Task WrongValueIsOneLineNamingTheSetting(string relay, string message)
    {
        string path = Config(relay);
        var r = await cli.RunAsync("serve", "--config", path);
        Assert.False(r.TimedOut, r.Output);
        Assert.True(r.ExitCode == 2, r.Output);
        Assert.Equal($"postbote: {path}: {message}\n", r.StandardError);
    }
}
