using Postbote.IntegrationTests.Infrastructure;
using Postbote.Testing.Smtp;

namespace Postbote.IntegrationTests;

/// <summary>
/// <c>postbote reload</c> re-reads the configuration file: an alias changed in the file takes effect for new mail, on a
/// session opened before the reload too, which is not dropped; a setting that needs a restart gets one warning naming
/// it; a wrong file keeps the configuration in force and logs its errors with their lines.
/// </summary>
public sealed class ConfigurationReloadTests : IAsyncLifetime
{
    private readonly PostboteServer server = new(new ServerOptions
    {
        TlsEnabled = false,
        Aliases = new Dictionary<string, string[]> { ["info@example.com"] = ["alice@example.com"] },
    }, "reload");
    private readonly PostboteCli cli = new();

    public Task InitializeAsync() => server.StartAsync();

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        cli.Dispose();
    }

    private async Task ReloadAsync(string expectLog, int count = 1)
    {
        var reload = await cli.RunAsync("reload", "--config", server.ConfigPath);
        Assert.True(reload.ExitCode == 0, reload.Output);
        Assert.True(await server.WaitForLogAsync(expectLog, count, TimeSpan.FromSeconds(30)), server.Diagnostics());
    }

    [Fact]
    public async Task AnAliasChangedAndReloadedIsFollowedAlsoOnASessionOpenedBefore()
    {
        using SmtpConnection before = await SmtpConnection.ConnectAsync(server.Port);
        string first = SmtpDialog.NewMarker("before");
        var reply = await SmtpDialog.SendMailAsync(before, "a@example.org", ["info@example.com"], SmtpDialog.SampleMessage(first, to: "info@example.com"));
        Assert.StartsWith("250", reply.Text, StringComparison.Ordinal);
        Assert.NotNull(await server.Mailbox("alice@example.com").WaitForMessageContainingAsync(first, TimeSpan.FromSeconds(30)));

        server.Options.Aliases = new Dictionary<string, string[]> { ["info@example.com"] = ["rcpt@example.com"] };
        server.Options.MaxErrors = 7; // needs a restart
        server.WriteConfiguration();
        await ReloadAsync("re-read: local recipients, relay, queue timings and the TLS certificate in force; open sessions kept");
        Assert.Equal(1, server.LogCount("reload: limits.max_errors changed: takes effect after a restart (the running server keeps 20)"));
        Assert.Equal(0, server.LogCount("reload: local.aliases changed"));

        // The session opened before the reload goes on, and its next message follows the new alias.
        string second = SmtpDialog.NewMarker("after");
        reply = await SmtpDialog.SendMailAsync(before, "a@example.org", ["info@example.com"], SmtpDialog.SampleMessage(second, to: "info@example.com"), ehlo: false);
        Assert.StartsWith("250", reply.Text, StringComparison.Ordinal);
        Assert.NotNull(await server.Mailbox("rcpt@example.com").WaitForMessageContainingAsync(second, TimeSpan.FromSeconds(30)));
        Assert.Null(await server.Mailbox("alice@example.com").WaitForMessageContainingAsync(second, TimeSpan.FromSeconds(1)));

        // And so does a new session.
        using SmtpConnection after = await SmtpConnection.ConnectAsync(server.Port);
        string third = SmtpDialog.NewMarker("new");
        reply = await SmtpDialog.SendMailAsync(after, "a@example.org", ["info@example.com"], SmtpDialog.SampleMessage(third, to: "info@example.com"));
        Assert.StartsWith("250", reply.Text, StringComparison.Ordinal);
        Assert.NotNull(await server.Mailbox("rcpt@example.com").WaitForMessageContainingAsync(third, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task AWrongFileOnReloadKeepsTheConfigurationInForceAndLogsItsErrors()
    {
        string good = await File.ReadAllTextAsync(server.ConfigPath);
        await File.WriteAllTextAsync(server.ConfigPath, good + "\n[queue]\nretry_intervall = 5\n");
        int line = good.Split('\n').Length + 2;

        // The command checks the file first and does not ask the server to read a wrong one.
        var refused = await cli.RunAsync("reload", "--config", server.ConfigPath);
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal($"{server.ConfigPath}:{line}: queue.retry_intervall: unknown setting; did you mean \"queue.retry_interval\"?\n", refused.StandardOutput);
        Assert.Equal(0, server.LogCount("reload:"));

        // A SIGHUP from elsewhere (kill -HUP) finds the same errors and keeps the configuration in force.
        server.SendHangup();
        Assert.True(await server.WaitForLogAsync("has errors: the configuration in force is kept", 1, TimeSpan.FromSeconds(30)), server.Diagnostics());

        Assert.Equal(1, server.LogCount($"reload: {server.ConfigPath}:{line}: queue.retry_intervall: unknown setting; did you mean \"queue.retry_interval\"?"));
        using SmtpConnection smtp = await SmtpConnection.ConnectAsync(server.Port);
        string marker = SmtpDialog.NewMarker("kept");
        var reply = await SmtpDialog.SendMailAsync(smtp, "a@example.org", ["info@example.com"], SmtpDialog.SampleMessage(marker, to: "info@example.com"));
        Assert.StartsWith("250", reply.Text, StringComparison.Ordinal);
        Assert.NotNull(await server.Mailbox("alice@example.com").WaitForMessageContainingAsync(marker, TimeSpan.FromSeconds(30)));
    }
}
