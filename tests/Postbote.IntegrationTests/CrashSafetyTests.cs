using System.Diagnostics;
using System.Text;
using Postbote.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Postbote.IntegrationTests;

/// <summary>Every message that got 250 survives SIGKILL (DESIGN.md: the crash-recovery test kills the server mid-load and counts).</summary>
public sealed class CrashSafetyTests(ITestOutputHelper output)
{
    private const string Mailbox = "rcpt@example.com";

    [Fact]
    public async Task AcknowledgedMessagesSurviveSigkillExactlyOnce()
    {
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions(), "crash");
        var all = new Dictionary<string, MessageOutcome>();
        for (var round = 1; round <= 2; round++)
        {
            var load = new LoadGenerator(server.Port, Mailbox, $"crash{round}-{Guid.NewGuid().ToString("N")[..8]}");
            var running = load.RunAsync(sessions: 6, maxMessages: 2000, maxDuration: TimeSpan.FromSeconds(30));

            // Kill after about 2 s of load, or sooner while messages are still in flight if the budget runs low.
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(2) && load.StartedCount < 1800 && !running.IsCompleted)
            {
                await Task.Delay(20);
            }

            await server.KillAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(40));
            foreach (var (id, outcome) in load.Outcomes)
            {
                all[id] = outcome;
            }

            var counts = load.Outcomes.Values.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
            var summary = $"round {round}: killed after {clock.Elapsed.TotalSeconds:F1} s; " +
                string.Join(", ", Enum.GetValues<MessageOutcome>().Select(o => $"{o} {counts.GetValueOrDefault(o)}"));
            summary += "; unacknowledged stopped at: " +
                string.Join(", ", load.LastStep.Values.GroupBy(v => v).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"));
            output.WriteLine(summary);
            Assert.True(counts.GetValueOrDefault(MessageOutcome.Acknowledged) > 0, $"no message was acknowledged before the kill: {summary}\n{string.Join('\n', load.Problems.Take(10))}{server.Diagnostics()}");
            Assert.True(load.Problems.IsEmpty, $"refused during the load: {string.Join('\n', load.Problems.Take(10))}{server.Diagnostics()}");

            await server.RestartAsync();
            await WaitForDeliveryAsync(server, all, summary);
            Verify(server, all, summary);
        }
    }

    private static async Task WaitForDeliveryAsync(PostboteServer server, Dictionary<string, MessageOutcome> all, string summary)
    {
        var acknowledged = all.Where(kv => kv.Value == MessageOutcome.Acknowledged).Select(kv => kv.Key).ToHashSet();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            var missing = acknowledged.Count - Delivered(server).Keys.Count(acknowledged.Contains);
            if (missing == 0 && server.SpoolFiles().Count == 0)
            {
                // Settle: a duplicate delivery would show up now.
                await Task.Delay(1000);
                return;
            }

            await Task.Delay(200);
        }

        var spool = server.SpoolFiles();
        var queue = await server.QueueListAsync();
        Assert.Fail(
            $"after restart, within 60 s: {acknowledged.Count - Delivered(server).Keys.Count(acknowledged.Contains)} acknowledged message(s) not delivered, " +
            $"{spool.Count} file(s) left in the spool ({string.Join(", ", spool.Take(10))})\n{summary}\n" +
            $"--- postbote queue list (exit {queue.ExitCode}) ---\n{queue.Output}{server.Diagnostics()}");
    }

    private static void Verify(PostboteServer server, Dictionary<string, MessageOutcome> all, string summary)
    {
        var delivered = Delivered(server);
        var problems = new List<string>();
        foreach (var (id, outcome) in all)
        {
            var copies = delivered.GetValueOrDefault(id);
            var ok = outcome switch
            {
                MessageOutcome.Acknowledged => copies == 1,
                MessageOutcome.InDoubt => copies <= 1,
                MessageOutcome.FailedBeforeDot or MessageOutcome.Refused => copies == 0,
                _ => false,
            };
            if (!ok)
            {
                problems.Add($"{id}: {outcome}, {copies} cop{(copies == 1 ? "y" : "ies")} delivered");
            }
        }

        foreach (var id in delivered.Keys.Where(id => !all.ContainsKey(id)))
        {
            problems.Add($"{id}: delivered but never sent by this test");
        }

        var text = new StringBuilder($"{problems.Count} problem(s); {summary}\n");
        foreach (var problem in problems.Take(30))
        {
            text.Append(problem).Append('\n');
        }

        Assert.True(problems.Count == 0, text + server.Diagnostics());
    }

    /// <summary>Copies per Message-Id local part in the mailbox.</summary>
    private static Dictionary<string, int> Delivered(PostboteServer server)
    {
        var copies = new Dictionary<string, int>();
        foreach (var message in server.Mailbox(Mailbox).Messages())
        {
            var id = message.Header("Message-Id") ?? "(none)";
            id = id.Trim('<', '>');
            var at = id.IndexOf('@', StringComparison.Ordinal);
            id = at > 0 ? id[..at] : id;
            copies[id] = copies.GetValueOrDefault(id) + 1;
        }

        return copies;
    }
}
