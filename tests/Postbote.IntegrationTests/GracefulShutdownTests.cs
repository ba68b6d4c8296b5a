using System.Diagnostics;
using System.Text;
using Postbote.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Postbote.IntegrationTests;

/// <summary>SIGTERM drains: open sessions end with 250 or 421, the process exits 0, and nothing acknowledged is lost.</summary>
public sealed class GracefulShutdownTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SigtermDuringSlowDataEndsWith421Or250AndExitsZero()
    {
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions(), "sigterm");

        // Messages acknowledged just before the signal: some are likely still in the spool when it arrives.
        var acknowledged = new List<(string Marker, byte[] Content, string? QueueId)>();
        using (var fast = await SmtpConnection.ConnectAsync(server.Port))
        {
            await SmtpDialog.ExpectAsync(fast, "EHLO client.test", "^250");
            for (var i = 0; i < 20; i++)
            {
                var marker = SmtpDialog.NewMarker("before-term");
                var content = SmtpDialog.SampleMessage(marker, to: "user40@example.com");
                var reply = await SmtpDialog.SendMailAsync(fast, "a@example.org", ["user40@example.com"], content, ehlo: false);
                Assert.True(reply.Code == 250, $"{reply}\n{fast.Transcript}");
                acknowledged.Add((marker, content, SmtpDialog.QueueId(reply.Text)));
            }
        }

        // A session in the middle of a slow DATA when SIGTERM arrives.
        var slowMarker = SmtpDialog.NewMarker("slow-data");
        var slowContent = Encoding.ASCII.GetBytes(
            $"From: <a@example.org>\r\nTo: <user41@example.com>\r\nSubject: {slowMarker}\r\n\r\n" +
            string.Concat(Enumerable.Range(0, 10).Select(i => $"slow line {i}\r\n")));
        using var slow = await SmtpConnection.ConnectAsync(server.Port);
        await SmtpDialog.BeginDataAsync(slow, "a@example.org", ["user41@example.com"]);
        var framed = SmtpConnection.DotStuff(slowContent);
        var headerEnd = slowContent.Length / 3;
        await slow.SendAsync(framed[..headerEnd]);

        var clock = Stopwatch.StartNew();
        server.SendTerminate();

        // Keep dripping the rest for about a second, then the final dot; the server may cut in with 421 at any time.
        SmtpResponse final;
        try
        {
            var rest = framed[headerEnd..];
            for (var i = 0; i < rest.Length; i += 16)
            {
                await slow.SendAsync(rest[i..Math.Min(rest.Length, i + 16)]);
                await Task.Delay(100);
            }
        }
        catch (IOException)
        {
            // The server closed the session; its reply (if any) is read below.
        }

        final = await slow.ReadReplyAsync(TimeSpan.FromSeconds(15));
        Assert.True(
            final.Code is 250 or 421,
            $"the session in DATA got {final} after SIGTERM; expected 421 or 250\n{slow.Transcript}{server.Diagnostics()}");

        var exit = await server.WaitForExitAsync(TimeSpan.FromSeconds(10) - clock.Elapsed + TimeSpan.FromSeconds(2));
        Assert.True(exit is not null, $"still running {clock.Elapsed.TotalSeconds:F1} s after SIGTERM{server.Diagnostics()}");
        Assert.True(exit == 0, $"exit status {exit} after SIGTERM{server.Diagnostics()}");
        output.WriteLine($"slow DATA session: {final.LastLine}; exit {exit} after {clock.Elapsed.TotalSeconds:F1} s");

        // Start again on the same data dir: everything acknowledged gets delivered, exactly once.
        await server.StartAsync();
        foreach (var (marker, content, queueId) in acknowledged)
        {
            await DeliveryAssert.DeliveredOnceAsync(server, "user40@example.com", marker, content, "a@example.org", queueId);
        }

        if (final.Code == 250)
        {
            await DeliveryAssert.DeliveredOnceAsync(server, "user41@example.com", slowMarker, slowContent, "a@example.org", SmtpDialog.QueueId(final.Text));
        }
        else
        {
            await Task.Delay(1500);
            Assert.DoesNotContain(server.Mailbox("user41@example.com").Messages(), m => m.Contains(slowMarker));
        }
    }
}
