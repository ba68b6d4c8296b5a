using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// sendmail compatibility with the built executable behind symlinks named <c>sendmail</c> and <c>mailq</c>, as Postfix
/// installs them: s-nail (mail(1)) with its MTA set to our sendmail, a cron-style <c>sendmail -t</c> with the headers on
/// standard input, <c>mailq</c> beside <c>postbote queue list</c>, and a message sent while the server is stopped that is
/// delivered once it starts (a file in the pickup folder that is not a message is set aside in corrupt/).
/// </summary>
public sealed class SendmailTests : IAsyncLifetime
{
    /// <summary>The test servers ask a DNS server that never answers (127.0.0.1:1), so a remote recipient is deferred.</summary>
    private const string Deferral = "451 4.4.3 MX lookup of remote.example failed: no answer from 127.0.0.1:1 within 1 s (1 tries each)";
    private readonly PostboteServer server = new(new ServerOptions { TrustedNetworks = ["127.0.0.1/32"], TlsEnabled = false }, "sendmail");
    private readonly PostboteCli cli = new();
    private string bin = "";

    public async Task InitializeAsync()
    {
        await RepoLayout.EnsureServerBuiltAsync();
        bin = cli.Combine("bin");
        Directory.CreateDirectory(bin);
        string apphost = Path.Combine(Path.GetDirectoryName(RepoLayout.ServerDll)!, "postbote");
        File.CreateSymbolicLink(Path.Combine(bin, "sendmail"), apphost);
        File.CreateSymbolicLink(Path.Combine(bin, "mailq"), apphost);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        cli.Dispose();
    }

    /// <summary>Runs a shell line with our symlinks first on PATH and POSTBOTE_CONFIG naming the server's file, as an
    /// installed system finds /etc/postbote/postbote.toml.</summary>
    private Task<ExternalProcess.Result> ShellAsync(string line) =>
        ExternalProcess.RunAsync("env", [$"PATH={bin}:/usr/bin:/bin", $"POSTBOTE_CONFIG={server.ConfigPath}", "sh", "-c", line],
            TimeSpan.FromSeconds(60), cli.Dir);

    [Fact]
    public async Task CronStyleSendmailTakesTheRecipientsFromTheHeadersAndDropsBcc()
    {
        await server.StartAsync();

        var sent = await ShellAsync(
            "printf 'From: Cron Daemon <root@example.com>\\nTo: alice@example.com\\nBcc: rcpt@example.com\\nSubject: cron job output\\n\\nline one\\n.\\nline after the dot\\n' | sendmail -t -i");

        Assert.True(sent.ExitCode == 0, sent.Output);
        foreach (string address in new[] { "alice@example.com", "rcpt@example.com" })
        {
            var delivered = await server.Mailbox(address).WaitForAsync(1, TimeSpan.FromSeconds(30));
            MaildirMessage m = delivered[0];
            Assert.Equal("Cron Daemon <root@example.com>", m.Header("From"));
            Assert.Equal("cron job output", m.Header("Subject"));
            Assert.Null(m.Header("Bcc"));
            Assert.NotNull(m.Header("Date"));
            Assert.Matches(@"^<\d+\.[0-9a-f]{32}@example\.com>$", m.Header("Message-ID"));
            Assert.EndsWith("\n\nline one\n.\nline after the dot\n", m.Text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        }
        Assert.Equal("<" + Environment.UserName + "@example.com>", server.Mailbox("alice@example.com").Messages()[0].Header("Return-Path"));
    }

    [Fact]
    public async Task MailNailDeliversThroughOurSendmail()
    {
        await server.StartAsync();
        string marker = "s-nail-" + Guid.NewGuid().ToString("N")[..8];

        var sent = await ShellAsync($"echo 'hello from s-nail {marker}' | s-nail -:/ -S mta={bin}/sendmail -s 'via s-nail' alice@example.com");

        Assert.True(sent.ExitCode == 0, sent.Output);
        var m = await server.Mailbox("alice@example.com").WaitForMessageContainingAsync(marker, TimeSpan.FromSeconds(30));
        Assert.NotNull(m);
        Assert.Equal("via s-nail", m!.Header("Subject"));
        Assert.Equal("alice@example.com", m.Header("To"));
    }

    [Fact]
    public async Task MailqMatchesQueueList()
    {
        await server.StartAsync();
        var sent = await ShellAsync("printf 'Subject: deferred\\n\\nbody\\n' | sendmail -f alice@example.org bob@remote.example");
        Assert.True(sent.ExitCode == 0, sent.Output);
        Assert.True(await server.WaitForLogAsync("to=<bob@remote.example>, relay=none", 1, TimeSpan.FromSeconds(30)), server.Diagnostics());

        var mailq = await ShellAsync("mailq");
        var list = await cli.RunAsync("queue", "list", "--config", server.ConfigPath);
        var bp = await ShellAsync("sendmail -bp");

        Assert.True(mailq.ExitCode == 0, mailq.Output);
        Assert.Equal(mailq.StandardOutput, bp.StandardOutput);
        Match row = Regex.Match(list.StandardOutput, @"\n([0-9A-Z]{16}) +\d+s +(\d+)  <alice@example\.org>\n");
        Assert.True(row.Success, list.Output);
        string[] lines = mailq.StandardOutput.Split('\n');
        Assert.Equal("-Queue ID-        --Size-- ----Arrival Time---- -Sender/Recipient-------", lines[0]);
        Assert.Matches($@"^{row.Groups[1].Value}  +{row.Groups[2].Value} +\w\w\w \w\w\w [ \d]\d \d\d:\d\d:\d\d alice@example\.org$", lines[1]);
        Assert.Equal($"({Deferral})", lines[2]);
        Assert.Equal(new string(' ', 48) + "bob@remote.example", lines[3]);
        Assert.Equal("", lines[4]);
        Assert.Equal($"-- {(int.Parse(row.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) + 1023) / 1024} Kbytes in 1 Request.", lines[5]);
        Assert.Contains($"(deferred, next ", list.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(Deferral, list.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendmailWithTheServerStoppedThenStartedIsDelivered()
    {
        string pickup = Path.Combine(server.DataDir, "pickup");

        var sent = await ShellAsync("printf 'Subject: while down\\n\\nwaited in pickup\\n' | sendmail alice@example.com");

        Assert.True(sent.ExitCode == 0, sent.Output);
        Assert.Contains("the server is not running: the message waits in " + pickup + "/", sent.StandardError, StringComparison.Ordinal);
        string[] waiting = Directory.GetFiles(pickup);
        Assert.Single(waiting);
        Assert.Matches(@"/\d+-[0-9a-f]{12}$", waiting[0]);
        Assert.Equal(0, server.Mailbox("alice@example.com").Count());
        // Beside it a file that is not a pickup file: set aside, never retried.
        await File.WriteAllTextAsync(Path.Combine(pickup, "garbage"), "not a message\n");

        await server.StartAsync();

        var m = await server.Mailbox("alice@example.com").WaitForMessageContainingAsync("waited in pickup", TimeSpan.FromSeconds(30));
        Assert.NotNull(m);
        Assert.Equal("while down", m!.Header("Subject"));
        Assert.Empty(Directory.GetFiles(pickup));
        Assert.Equal(1, server.LogCount("by pickup"));
        Assert.Equal("not a message\n", await File.ReadAllTextAsync(Path.Combine(server.DataDir, "corrupt", "pickup-garbage")));
        Assert.Equal(1, server.LogCount("garbage: not a message (the first line is not 'postbote-pickup 1'): moved to"));
    }
}
