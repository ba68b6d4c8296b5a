using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// Mail readers that nobody here wrote open a Maildir that Postbote delivered into: s-nail and mutt find headers and body
/// apart and show no carriage returns, since copies are stored with LF line ends as Postfix and Dovecot store them.
/// </summary>
public sealed class MaildirReaderTests
{
    private static async Task<PostboteServer> DeliverAsync(string marker)
    {
        var server = await PostboteServer.StartNewAsync(name: "reader");
        var swaks = await ExternalProcess.RunAsync("swaks",
            ["--server", $"127.0.0.1:{server.Port}", "--from", "sender@example.org", "--to", "alice@example.com",
             "--header", $"Subject: {marker}", "--body", "first body line\nsecond body line", "--suppress-data"],
            TimeSpan.FromSeconds(60));
        Assert.True(swaks.ExitCode == 0, swaks.Output + server.Diagnostics());
        await server.Mailbox("alice@example.com").WaitForAsync(1);
        return server;
    }

    [Fact]
    public async Task SnailReadsHeadersAndBodyApart()
    {
        var marker = SmtpDialog.NewMarker("snail");
        await using var server = await DeliverAsync(marker);
        var maildir = server.Mailbox("alice@example.com").Path;
        // -R read-only, -N no header summary, -: no start-up files; "p 1" prints the message, then quit.
        var r = await ExternalProcess.RunAsync("s-nail", ["-R", "-N", "-:/", "-Sttycharset=utf-8", "-f", "maildir://" + maildir],
            TimeSpan.FromSeconds(30), server.TempDir, "Print 1\nx\n"u8.ToArray());
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.DoesNotContain("Malformed", r.Output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\r", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"Subject: {marker}\n", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\n\nfirst body line\nsecond body line\n", r.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MuttShowsNoCarriageReturns()
    {
        var marker = SmtpDialog.NewMarker("mutt");
        await using var server = await DeliverAsync(marker);
        var maildir = server.Mailbox("alice@example.com").Path;
        Environment.SetEnvironmentVariable("TERM", Environment.GetEnvironmentVariable("TERM") ?? "vt100");
        var shown = Path.Combine(server.TempDir, "mutt-shown.txt");
        // mutt needs a terminal: script(1) gives it one. The pager is cat into a file, which is what a reader would see;
        // mutt then waits at its index, so timeout(1) ends it after a few seconds.
        var mutt = $"mutt -n -R -F /dev/null -e 'set folder={maildir} spoolfile={maildir} wait_key=no' "
            + $"-e 'set pager=\"cat > {shown}\"' -f {maildir} -e 'push <display-message>'";
        var r = await ExternalProcess.RunAsync("timeout", ["8", "script", "-qec", mutt, "/dev/null"], TimeSpan.FromSeconds(30), server.TempDir);
        Assert.False(r.TimedOut, r.Output);
        Assert.True(File.Exists(shown), r.Output);
        var text = File.ReadAllText(shown);
        Assert.DoesNotContain("\r", text, StringComparison.Ordinal);
        Assert.Contains($"Subject: {marker}\n", text, StringComparison.Ordinal);
        Assert.Contains("\n\nfirst body line\nsecond body line\n", text, StringComparison.Ordinal);
    }
}
