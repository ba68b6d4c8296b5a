using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// <c>postbote check-config</c> and <c>postbote show-config</c> on the built executable: every fault of a file as
/// <c>FILE:LINE: KEY: reason</c> with exit status 2, a valid file with 0, renamed settings that still work with one
/// warning, and the effective configuration as TOML that reads back to the same.
/// </summary>
public sealed class ConfigCheckTests : IDisposable
{
    private readonly PostboteCli cli = new();

    public void Dispose() => cli.Dispose();

    [Fact]
    public async Task CheckConfigFindsEveryErrorOfAFileWithFiveMistakesEachWithItsLine()
    {
        string path = cli.Config($"""
            hostname = "mx.example.org"
            data_dir = "{cli.Combine("data")}"

            [smtp]
            lisen = ["127.0.0.1:2525"]
            vrfy = "yes"

            [limits]
            idle_timeout = 0
            max_conections = 5

            [relay]
            port = 70000
            """);

        var result = await cli.RunAsync("check-config", "--config", path);

        Assert.True(result.ExitCode == 2, result.Output);
        Assert.Equal(
            $"""
            {path}:5: smtp.lisen: unknown setting; did you mean "smtp.listen"?
            {path}:6: smtp.vrfy: must be true or false
            {path}:10: limits.max_conections: unknown setting; did you mean "limits.max_connections"?
            {path}:13: relay.port: must be between 1 and 65535
            {path}:9: limits.idle_timeout: must be positive

            """, result.StandardOutput.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Equal($"postbote: {path}: 5 error(s)\n", result.StandardError);
    }

    [Fact]
    public async Task CheckConfigReportsEverySyntaxErrorWithItsLine()
    {
        string path = cli.Config("[smtp\nlisten = [\"127.0.0.1:2525\"]\n[limits]\nrecipients = = 4\n");

        var result = await cli.RunAsync("check-config", "--config", path);

        Assert.True(result.ExitCode == 2, result.Output);
        string[] lines = result.StandardOutput.TrimEnd('\n').Split('\n');
        Assert.StartsWith($"{path}:1: toml: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith($"{path}:4: toml: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AValidFileIsExitStatusZeroAndNothingOnStandardOutput()
    {
        string path = cli.ConfigWithTable("queue", "retry_interval = 60");

        var result = await cli.RunAsync("check-config", "--config", path);

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal("", result.StandardOutput);
        Assert.Equal($"postbote: {path}: valid\n", result.StandardError);
    }

    [Fact]
    public async Task ARenamedSettingStillWorksWithOneWarningNamingBoth()
    {
        string path = cli.ConfigWithTable("limits", "max_message_size = 4096");

        var check = await cli.RunAsync("check-config", "--config", path);
        Assert.True(check.ExitCode == 0, check.Output);
        Assert.Equal($"{path}:5: limits.max_message_size: warning: limits.max_message_size is now called limits.message_size: read as limits.message_size; rename it in the file\n",
            check.StandardOutput);

        var show = await cli.RunAsync("show-config", "-n", "--config", path);
        Assert.True(show.ExitCode == 0, show.Output);
        Assert.Contains("\n[limits]\nmessage_size = 4096\n", show.StandardOutput, StringComparison.Ordinal);
        Assert.Equal("postbote: warning: limits.max_message_size is now called limits.message_size: read as limits.message_size; rename it in the file\n",
            show.StandardError);

        // Both names at once is a fault, not a guess.
        string both = cli.ConfigWithTable("limits", "max_message_size = 4096\nmessage_size = 8192");
        var refused = await cli.RunAsync("check-config", "--config", both);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("limits.max_message_size is now called limits.message_size: set only limits.message_size", refused.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShowConfigMarksDefaultsAndReadsBackToTheSameConfiguration()
    {
        string path = cli.ConfigWithTable("queue", "retry_interval = 60");

        var show = await cli.RunAsync("show-config", "--config", path);
        Assert.True(show.ExitCode == 0, show.Output);
        string text = show.StandardOutput;
        Assert.Contains("\n[queue]\nretry_interval = 60\nmax_retry_interval = 3600  # default\n", text, StringComparison.Ordinal);
        Assert.Contains("\nmessage_size = 10485760  # default\n", text, StringComparison.Ordinal);
        Assert.Contains("\n[log]\nlevel = \"information\"  # default\n", text, StringComparison.Ordinal);

        var onlySet = await cli.RunAsync("show-config", "-n", "--config", path);
        Assert.DoesNotContain("# default", onlySet.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\n[queue]\nretry_interval = 60\n", onlySet.StandardOutput, StringComparison.Ordinal);

        // The printed configuration is itself a valid file, and it says the same.
        string again = cli.Config(text, "again.toml");
        var check = await cli.RunAsync("check-config", "--config", again);
        Assert.True(check.ExitCode == 0, check.Output + "\n" + text);
        var reshow = await cli.RunAsync("show-config", "--config", again);
        Assert.Equal(Strip(text), Strip(reshow.StandardOutput));

        static string Strip(string s) => string.Join('\n', s.Split('\n').Skip(1).Select(l => l.Replace("  # default", "", StringComparison.Ordinal)));
    }
}
