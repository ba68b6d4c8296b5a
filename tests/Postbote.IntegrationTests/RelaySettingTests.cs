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
