using System.Diagnostics;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Postbote.IntegrationTests;

/// <summary>
/// The data directory and the Maildir root on small tmpfs mounts that the test fills: a full disk refuses new mail with
/// 4xx, loses nothing that was acknowledged, and once space returns the queue drains without a restart.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output)
{
    private const string Mailbox = "rcpt@example.com";
    private const int Messages = 150;

    [Fact]
    public async Task FullDiskRefusesWith4xxLosesNothingAndRecoversWithoutRestart()
    {
        var server = new PostboteServer(new ServerOptions { RetryIntervalSeconds = 1 }, "diskfull");
        Tmpfs.Mount(server.DataDir, "16m");
        Tmpfs.Mount(server.MaildirRoot, "1m");
        try
        {
            await server.StartAsync();
            string maildirFiller = Tmpfs.Fill(server.MaildirRoot);

            // Accepted while the Maildir side is full: every delivery is deferred and the messages stay queued.
            var markers = await SmtpDialog.SendSamplesAsync(server, Mailbox, Messages, _ => SmtpDialog.NewMarker("full"));
            Assert.True(await server.WaitForLogAsync("status=deferred", Messages, TimeSpan.FromSeconds(30)), server.Diagnostics());

            // Now the spool's disk is full too: new mail is refused with a 4xx, "mail system full".
            string spoolFiller = Tmpfs.Fill(server.DataDir);
            using (var smtp = await SmtpConnection.ConnectAsync(server.Port))
            {
                // Larger than the free end of the spool's last page, so it needs a page the disk does not have.
                byte[] large = [.. SmtpDialog.SampleMessage(SmtpDialog.NewMarker("refused")), .. Enumerable.Repeat("0123456789abcdefghij0123456789abcdefghij\r\n"u8.ToArray(), 500).SelectMany(l => l)];
                var reply = await SmtpDialog.SendMailAsync(smtp, "a@example.org", [Mailbox], large);
                output.WriteLine($"with the spool's disk full: {reply}");
                Assert.Matches(new Regex(@"^45[12] 4\.3\.1 "), reply.ToString());
                await SmtpDialog.ExpectAsync(smtp, "NOOP", "^250");
            }

            // The Maildir side has room again: every message is delivered, but their "done" records cannot be written
            // (more records than the spool's last page can hold), so they stay queued and are not said to be removed.
            File.Delete(maildirFiller);
            await server.Mailbox(Mailbox).WaitForAsync(Messages, TimeSpan.FromSeconds(40));
            await Task.Delay(1500);
            int removedWhileFull = server.LogCount(": removed");
            int queuedWhileFull = server.SpoolFiles().Count;
            output.WriteLine($"disk full, all delivered: {removedWhileFull} said removed, {queuedWhileFull} still queued");
            Assert.True(queuedWhileFull > 0, "every done record was written on a full disk?\n" + server.Diagnostics());
            Assert.Equal(Messages - queuedWhileFull, removedWhileFull);

            // Space returns: the done records go through, the queue drains, no restart.
            File.Delete(spoolFiller);
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(30) && (server.SpoolFiles().Count > 0 || server.LogCount(": removed") < Messages)) await Task.Delay(200);
            output.WriteLine($"space back: queue empty after {clock.Elapsed.TotalSeconds:F1} s");
            Assert.Empty(server.SpoolFiles());
            Assert.Equal(Messages, server.LogCount(": removed"));
            Assert.True(server.IsRunning);
            Assert.True(Directory.GetFiles(server.SpoolDir, "seg-*.log").Length <= 1);

            // Exactly once each, and the refused one never.
            var copies = server.Mailbox(Mailbox).Messages().GroupBy(m => m.Header("Subject")).ToDictionary(g => g.Key!, g => g.Count());
            Assert.All(markers, m => Assert.Equal(1, copies.GetValueOrDefault(m)));
            Assert.Equal(Messages, copies.Values.Sum());

            using (var smtp = await SmtpConnection.ConnectAsync(server.Port))
            {
                var reply = await SmtpDialog.SendMailAsync(smtp, "a@example.org", [Mailbox], SmtpDialog.SampleMessage(SmtpDialog.NewMarker("after")));
                Assert.Equal(250, reply.Code);
            }
        }
        finally
        {
            await server.TerminateAsync(TimeSpan.FromSeconds(10));
            Tmpfs.Unmount(server.MaildirRoot);
            Tmpfs.Unmount(server.DataDir);
            await server.DisposeAsync();
        }
    }
}
