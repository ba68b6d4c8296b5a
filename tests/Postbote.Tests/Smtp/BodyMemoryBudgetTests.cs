using System.Diagnostics;
using System.Text;
using Postbote.Queue;

namespace Postbote.Tests.Smtp;

/// <summary>
/// Many sessions in the middle of DATA hold their unfinished bodies in memory only within the shared budget
/// ([limits] max_body_memory); the rest stream to their own files, and every message still commits intact.
/// </summary>
public class BodyMemoryBudgetTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Sessions = 20;
    private const int Budget = 1024 * 1024;

    private static string Body(int session)
    {
        var body = new StringBuilder($"Subject: message {session}\r\n\r\n");
        for (int line = 0; body.Length < 200 * 1024; line++)
            body.Append(FormattableString.Invariant($"session {session:D2} line {line:D5} ")).Append('x', 70).Append("\r\n");
        return body.ToString();
    }

    [Fact]
    public async Task SlowSendersHoldNoMoreThanTheBudgetAndEveryMessageCommits()
    {
        var budget = new BodyMemoryBudget(Budget);
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MessageSize = 1_000_000, spool => new BudgetedMessageSink(spool, budget));
        var clients = new List<SmtpConnection>();
        try
        {
            // 20 sessions each send 200 KiB of DATA and stop before the final dot: 20 x 256 KiB buffers without a budget.
            for (int i = 0; i < Sessions; i++)
            {
                var c = await server.ConnectAsync();
                clients.Add(c);
                string r = await c.ExchangeAsync("EHLO client.example.org\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<rcpt@example.com>\r\nDATA\r\n", 4);
                Assert.EndsWith("354 End data with <CR><LF>.<CR><LF>\r\n", r);
                await c.SendAsync(Encoding.ASCII.GetBytes(Body(i)));
            }

            // At most 4 bodies of 256 KiB fit in 1 MiB: at least 16 must have gone to their own files (bounded wait).
            var clock = Stopwatch.StartNew();
            int files = 0;
            while (clock.Elapsed < TimeSpan.FromSeconds(15) && (files = Directory.GetFiles(server.Spool.Directory, "*.eml").Length) < Sessions - Budget / Spool.InlineLimit)
                await Task.Delay(50);
            Assert.True(files >= Sessions - Budget / Spool.InlineLimit, $"only {files} bodies went to files; {budget.InUse} bytes in memory");
            output.WriteLine($"{Sessions} sessions in DATA: {files} bodies in their own files, {budget.InUse} bytes in memory, peak {budget.Peak} of {Budget}");
            Assert.InRange(budget.Peak, 1, Budget);
            Assert.InRange(budget.InUse, 1, Budget);

            foreach (var c in clients)
                Assert.Matches("^250 2.0.0 Ok: queued as [0-9A-Z]{16}\r\n$", await c.ExchangeAsync("\r\n.\r\n"));
            Assert.Equal(0, budget.InUse);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }

        // Every message is in the spool with its whole body, in memory or not.
        var entries = server.Spool.List();
        Assert.Equal(Sessions, entries.Count);
        var subjects = new HashSet<int>();
        foreach (var entry in entries)
        {
            string body = Encoding.ASCII.GetString(Spool.ReadBody(server.Spool.Read(entry.Id)!));
            int session = int.Parse(body[(body.IndexOf("Subject: message ", StringComparison.Ordinal) + 17)..].Split('\r')[0], System.Globalization.CultureInfo.InvariantCulture);
            Assert.EndsWith(Body(session) + "\r\n", body);
            subjects.Add(session);
        }
        Assert.Equal(Sessions, subjects.Count);
        Assert.Equal(Budget, budget.Limit);
    }

    [Fact]
    public void TheBudgetRefusesWhatDoesNotFit()
    {
        var budget = new BodyMemoryBudget(100);
        Assert.True(budget.TryReserve(60));
        Assert.False(budget.TryReserve(41));
        Assert.True(budget.TryReserve(40));
        budget.Release(60);
        Assert.Equal(40, budget.InUse);
        Assert.Equal(100, budget.Peak);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BodyMemoryBudget(-1));
    }
}
