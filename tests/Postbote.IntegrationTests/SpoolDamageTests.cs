using System.Diagnostics;
using System.Text;
using Postbote.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Postbote.IntegrationTests;

/// <summary>
/// The built server with 300 acknowledged messages queued (delivery blocked), killed with SIGKILL, one bit flipped in the
/// spool on disk, restarted: only the damaged message is lost, it is in corrupt/ with its bytes, and every other one is
/// delivered exactly once.
/// </summary>
public sealed class SpoolDamageTests(ITestOutputHelper output)
{
    private const string Mailbox = "rcpt@example.com";
    private const int Messages = 300;

    [Fact]
    public async Task OneFlippedBitLosesOnlyItsOwnMessage()
    {
        await using var server = new PostboteServer(new ServerOptions { RetryIntervalSeconds = 1 }, "damage");
        // The mailbox's folder is a file: every delivery fails and is deferred, so the messages stay in the spool.
        string mailbox = server.Mailbox(Mailbox).Path;
        Directory.CreateDirectory(Path.GetDirectoryName(mailbox)!);
        await File.WriteAllTextAsync(mailbox, "not a Maildir");
        await server.StartAsync();

        var markers = await SmtpDialog.SendSamplesAsync(server, Mailbox, Messages, i => SmtpDialog.NewMarker($"m{i:D3}"));
        await server.KillAsync();

        // Flip one bit in the body of message 100 in every copy of its record (a deferral appends a copy with the new
        // state; an intact older copy would rightly bring it back).
        string victim = markers[100];
        byte[] needle = Encoding.ASCII.GetBytes("body of " + victim);
        int flipped = 0;
        foreach (string segment in Directory.GetFiles(server.SpoolDir, "seg-*.log"))
        {
            byte[] data = await File.ReadAllBytesAsync(segment);
            for (int at = data.AsSpan().IndexOf(needle); at >= 0; at = NextIndexOf(data, needle, at + 1))
            {
                data[at + 3] ^= 0x01;
                flipped++;
            }
            await File.WriteAllBytesAsync(segment, data);
        }
        Assert.InRange(flipped, 1, 12);

        File.Delete(mailbox);
        await server.RestartAsync();

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60) && (server.Mailbox(Mailbox).Count() < Messages - 1 || server.SpoolFiles().Count > 0))
        {
            await Task.Delay(200);
        }
        await Task.Delay(1000);

        var copies = server.Mailbox(Mailbox).Messages().GroupBy(m => m.Header("Subject")).ToDictionary(g => g.Key!, g => g.Count());
        var wrong = markers.Where(m => copies.GetValueOrDefault(m) != (m == victim ? 0 : 1)).ToList();
        output.WriteLine($"delivered {copies.Values.Sum()} of {Messages} (one damaged); wrong: {wrong.Count}");
        Assert.True(wrong.Count == 0, $"{wrong.Count} messages delivered a wrong number of times, e.g. {string.Join(", ", wrong.Take(5))}\n{server.Diagnostics()}");
        Assert.Empty(server.SpoolFiles());

        string corrupt = Path.Combine(server.DataDir, "corrupt");
        string[] copiesAside = Directory.GetFiles(corrupt, "*.rec");
        Assert.True(flipped == copiesAside.Length, $"{flipped} copies damaged, {copiesAside.Length} set aside: {string.Join(", ", copiesAside.Select(Path.GetFileName))}\n{server.Diagnostics()}");
        foreach (string copy in copiesAside)
        {
            byte[] kept = await File.ReadAllBytesAsync(copy);
            Assert.True(LastIndexOf(kept, Encoding.ASCII.GetBytes("bodx of " + victim)) >= 0, "the set-aside record holds the message's bytes as found");
        }
        Assert.True(server.LogCount("set aside") >= flipped, server.Diagnostics());

        // The admin sees it in the queue listing, through the running server's control socket.
        var list = await server.QueueListAsync();
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Equal($"queue is empty\n-- {flipped} damaged record(s) set aside in corrupt/, not delivered: each has a .txt note beside its bytes\n",
            list.StandardOutput);
    }

    private static int NextIndexOf(byte[] haystack, byte[] needle, int from)
    {
        int i = haystack.AsSpan(from).IndexOf(needle);
        return i < 0 ? -1 : from + i;
    }

    private static int LastIndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().LastIndexOf(needle);
}
