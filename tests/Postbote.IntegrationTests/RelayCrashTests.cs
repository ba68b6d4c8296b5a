using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Postbote.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Postbote.IntegrationTests;

/// <summary>
/// The crash test on the outbound side: SIGKILL while messages are being relayed, restart, and count at the receiver.
/// Every acknowledged message arrives; the only one that may arrive twice is the one in flight at the kill (the receiver
/// had it but its 250 was not recorded yet), so with one delivery at a time (<c>[queue] destination_concurrency = 1</c>)
/// at most one message is duplicated per kill.
/// </summary>
public sealed class RelayCrashTests(ITestOutputHelper output)
{
    private const int Messages = 40;

    [Fact]
    public async Task KilledDuringRelayingEveryMessageArrivesAndAtMostTheOneInFlightTwice()
    {
        string dir = Directory.CreateTempSubdirectory("postbote-relay-crash-").FullName;
        string capture = Path.Combine(dir, "capture.jsonl");
        // aiosmtpd records each message, then waits 150 ms before its 250: a kill in that window leaves a message that
        // arrived but is not recorded as delivered.
        using var receiver = await ScriptPeer.StartAsync("aiosmtpd_receiver.py", "127.0.0.43", capture, "150");
        int port = receiver.Port;
        try
        {
            var options = new ServerOptions
            {
                TrustedNetworks = ["127.0.0.0/8"],
                RetryIntervalSeconds = 1,
                DestinationConcurrency = 1,
                Transports = new Dictionary<string, string> { ["crash.test"] = $"smtp:[127.0.0.43]:{port}" },
            };
            await using var server = await PostboteServer.StartNewAsync(options, "relay-crash");
            string prefix = SmtpDialog.NewMarker("rc");
            List<string> markers = await SmtpDialog.SendSamplesAsync(server, "bob@crash.test", Messages, i => $"{prefix}-{i:D3}");

            // Kill once about a quarter has arrived, while the rest is queued or in flight.
            var clock = Stopwatch.StartNew();
            while (Arrived(capture).Count < Messages / 4 && clock.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(20);
            int beforeKill = Arrived(capture).Count;
            await server.KillAsync();
            Assert.InRange(beforeKill, Messages / 4, Messages - 1);
            await server.RestartAsync();

            clock.Restart();
            while (Arrived(capture).Distinct().Count(markers.Contains) < Messages && clock.Elapsed < TimeSpan.FromSeconds(90)) await Task.Delay(100);
            Assert.True(await server.WaitForEmptySpoolAsync(TimeSpan.FromSeconds(30)), "the queue did not empty" + server.Diagnostics());

            List<string> arrived = Arrived(capture);
            var counts = arrived.GroupBy(m => m).ToDictionary(g => g.Key, g => g.Count());
            string summary = $"{beforeKill} arrived before the kill; after the restart {arrived.Count} in all, " +
                $"{counts.Count(kv => kv.Value > 1)} twice";
            output.WriteLine(summary);
            Assert.All(markers, m => Assert.True(counts.ContainsKey(m), $"{m} never arrived; {summary}"));
            Assert.All(counts.Keys, m => Assert.Contains(m, markers));
            Assert.InRange(counts.Values.Count(c => c > 1), 0, 1);
            Assert.All(counts.Values, c => Assert.InRange(c, 1, 2));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The markers (Subject) of the messages the receiver recorded, in arrival order.</summary>
    private static List<string> Arrived(string capture)
    {
        var result = new List<string>();
        if (!File.Exists(capture)) return result;
        string[] lines;
        using (var stream = new FileStream(capture, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var reader = new StreamReader(stream))
        {
            lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        foreach (string line in lines)
        {
            JsonElement e;
            try { e = JsonDocument.Parse(line).RootElement; } catch (JsonException) { continue; } // a line being written
            string content = Encoding.ASCII.GetString(Convert.FromBase64String(e.GetProperty("content").GetString()!));
            int s = content.IndexOf("\r\nSubject: ", StringComparison.Ordinal);
            if (s < 0) continue;
            int end = content.IndexOf("\r\n", s + 11, StringComparison.Ordinal);
            result.Add(content[(s + 11)..end]);
        }
        return result;
    }
}
