using System.Net;
using System.Net.Sockets;
using System.Text;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// The <c>postbote</c> command line: --version, help for every command, which data directory a command uses, read
/// commands refusing a missing one, the configuration's duplicate tables, <c>reload</c>, and the older spellings.
/// </summary>
public sealed class CliTests : IDisposable
{
    private readonly PostboteCli cli = new();

    public void Dispose() => cli.Dispose();

    [Fact]
    public async Task VersionPrintsTheVersion()
    {
        var r = await cli.RunAsync("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^0\.1\.0(\+[0-9a-f]+)?\n$", r.StandardOutput);
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("queue")]
    [InlineData("queue list")]
    [InlineData("queue show")]
    [InlineData("queue flush")]
    [InlineData("queue hold")]
    [InlineData("user")]
    [InlineData("user add")]
    [InlineData("reload")]
    public async Task EveryCommandHasItsHelp(string command)
    {
        var r = await cli.RunAsync([.. command.Split(' '), "--help"]);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Contains($"Usage:\n  postbote {command} ", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("--config <FILE>", r.StandardOutput, StringComparison.Ordinal);
        Assert.Equal("", r.StandardError);
    }

    [Fact]
    public async Task HelpCommandStillWorks()
    {
        var r = await cli.RunAsync("help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("serve", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("reload", r.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("queue list")]
    [InlineData("queue flush")]
    [InlineData("queue show 0000000000000000")]
    [InlineData("user list")]
    [InlineData("user remove alice")]
    [InlineData("reload")]
    public async Task ReadCommandsRefuseAMissingDataDirectory(string command)
    {
        var r = await cli.RunAsync(command.Split(' '));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"postbote: data directory {cli.Combine("data")} (data_dir of the embedded default) does not exist; "
            + "run where the server runs, or give --config FILE\n", r.StandardError);
        Assert.False(Directory.Exists(cli.Combine("data")));
    }

    [Fact]
    public async Task UserAddSaysWhichDataDirectoryItCreatesAndFlagsStillWork()
    {
        var add = await cli.RunAsync("user", "add", "alice", "--address", "alice@example.com", "--address", "a@example.com", "--any-sender");
        Assert.True(add.ExitCode == 0, add.Output);
        Assert.Equal($"postbote: data directory {cli.Combine("data")} (data_dir of the embedded default) does not exist yet: creating it\n"
            + "postbote: user alice added\n", add.StandardError);
        var list = await cli.RunAsync("user", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Equal("NAME\tADDRESSES\tANY-SENDER\nalice\talice@example.com,a@example.com\tany-sender\n", list.StandardOutput);
        Assert.Equal($"postbote: data directory {cli.Combine("data")} (data_dir of the embedded default)\n", list.StandardError);
    }

    [Fact]
    public async Task UnknownArgumentIsAUsageError()
    {
        var r = await cli.RunAsync("queue", "lsit");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("'lsit'", r.StandardError, StringComparison.Ordinal);
        Assert.EndsWith("see 'postbote queue --help'\n", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DuplicateTableIsRefusedWithFileAndLine()
    {
        var config = cli.Config("hostname = \"mx.test\"\n\n[smtp]\nlisten = [\"127.0.0.1:2525\"]\n\n[smtp]\nvrfy = false\n");
        var r = await cli.RunAsync("serve", "--config", config);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"postbote: {config}: line 6: The key `smtp` is already defined at line 3 and cannot be redefined\n", r.StandardError);
    }

    [Fact]
    public async Task ReloadSignalsTheServerOfThisDataDirectoryOnly()
    {
        await using var server = await PostboteServer.StartNewAsync();
        await using var other = await PostboteServer.StartNewAsync(name: "other");
        var r = await cli.RunAsync("reload", "--config", server.ConfigPath);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Equal($"postbote: sent SIGHUP to pid {server.ProcessId} (data directory {server.DataDir}): it re-reads its configuration and TLS certificate (its log says what changed)\n", r.StandardOutput);
        Assert.True(await server.WaitForLogAsync("TLS certificate reloaded", 1, TimeSpan.FromSeconds(10)), server.Diagnostics());
        await Task.Delay(500);
        Assert.Equal(0, other.LogCount("TLS certificate reloaded"));
        Assert.True(other.IsRunning);
    }

    [Fact]
    public async Task ServerLogHasNoHostNoise()
    {
        await using var server = await PostboteServer.StartNewAsync();
        var log = server.LogTail();
        Assert.Contains(" info Postbote.Smtp: listening on 127.0.0.1:", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Content root path", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Hosting environment", log, StringComparison.Ordinal);
        Assert.DoesNotContain("[0]", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IPv4AndIPv6WildcardsListenSideBySide()
    {
        await using var server = new PostboteServer(name: "dual");
        File.WriteAllText(server.ConfigPath, $"""
            data_dir = "{server.DataDir}"
            [smtp]
            listen = ["0.0.0.0:{server.Port}", "[::]:{server.Port}"]
            [tls]
            enabled = false
            """);
        await server.StartAsync();
        Assert.Equal(1, server.LogCount($"listening on [::]:{server.Port}"));
        using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await v6.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.Port), cts.Token);
        var buffer = new byte[256];
        int n = await v6.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        Assert.StartsWith("220 ", Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
    }
}
