using System.Collections.Concurrent;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

public sealed class QueueDestinationTests
{
    private int _deadAnswers = 1;

    private static void ByDomain(QueueSchedulerOptions o) => o.Destination = m => m.Domain.ToLowerInvariant();

    [Fact]
    public async Task AMessageIsSplitIntoOneRequestPerDestination()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(() => RecipientResult.Delivered("ok")), ByDomain);
        await h.StartAsync();
        QueueId id = await h.CommitAsync("x@a.example", "y@b.example", "z@A.example");
        await h.WaitForCalls(2);
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(id) is null, "the message is retired");
        var requests = h.Agent.Requests.Select(r => string.Join(",", r.Recipients.Select(x => x.Address.ToString()))).Order().ToArray();
        Assert.Equal(["x@a.example,z@A.example", "y@b.example"], requests);
    }

    [Fact]
    public async Task WithoutADestinationFunctionAMessageIsOneRequest()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(() => RecipientResult.Delivered("ok")));
        await h.StartAsync();
        await h.CommitAsync("x@a.example", "y@b.example");
        await h.WaitForCalls(1);
        Assert.Equal(2, Assert.Single(h.Agent.Requests).Recipients.Count);
    }

    [Fact]
    public async Task TheConcurrencyPerDestinationIsNeverExceeded()
    {
        var running = new ConcurrentDictionary<string, int>();
        var peak = new ConcurrentDictionary<string, int>();
        int total = 0, totalPeak = 0;
        async Task<IReadOnlyList<RecipientResult>> Answer(DeliveryRequest r, int n)
        {
            string key = r.Recipients[0].Address.Domain;
            int now = running.AddOrUpdate(key, 1, (_, v) => v + 1);
            peak.AddOrUpdate(key, now, (_, v) => Math.Max(v, now));
            int all = Interlocked.Increment(ref total);
            InterlockedMax(ref totalPeak, all);
            await Task.Delay(20);
            Interlocked.Decrement(ref total);
            running.AddOrUpdate(key, 0, (_, v) => v - 1);
            return r.Recipients.Select(_ => RecipientResult.Delivered("ok")).ToArray();
        }
        await using var h = new SchedulerHarness(Answer, o =>
        {
            ByDomain(o);
            o.DestinationConcurrency = 3;
            o.MaxConcurrentDeliveries = 16;
        });
        await h.StartAsync();
        var ids = new List<QueueId>();
        for (int i = 0; i < 24; i++) ids.Add(await h.CommitAsync($"u{i}@slow.example"));
        for (int i = 0; i < 6; i++) ids.Add(await h.CommitAsync($"u{i}@other.example", $"v{i}@slow.example"));
        for (int i = 0; i < 6; i++) ids.Add(await h.CommitAsync($"local{i}@fast.example"));
        await h.WaitForCalls(24 + 12 + 6);
        await SchedulerHarness.WaitUntil(() => ids.All(id => h.Spool.Read(id) is null), "every message is retired");

        Assert.Equal(3, peak["slow.example"]);
        Assert.True(peak["other.example"] <= 3, $"other.example peaked at {peak["other.example"]}");
        Assert.True(peak["fast.example"] <= 3);
        // Messages waiting for slow.example did not hold up the others: more than 3 ran at once in all.
        Assert.True(totalPeak > 3, $"only {totalPeak} deliveries ran at once");
    }

    [Fact]
    public async Task ADeadDestinationIsNotAttemptedWhileBackedOff()
    {
        await using var h = new SchedulerHarness((r, _) => Task.FromResult<IReadOnlyList<RecipientResult>>(r.Recipients.Select(x =>
            x.Address.Domain == "dead.example" && Volatile.Read(ref _deadAnswers) == 1 ? RecipientResult.Temporary("connection refused") : RecipientResult.Delivered("ok")).ToArray()), o =>
        {
            ByDomain(o);
            o.DeadDestinationAfter = 5;
        });
        await h.StartAsync();
        for (int i = 1; i <= 5; i++)
        {
            await h.CommitAsync($"u{i}@dead.example");
            await h.WaitForCalls(i);
        }
        Assert.Contains(h.Log.Lines, l => l.Text.StartsWith("Destination dead.example backed off until", StringComparison.Ordinal)
            && l.Text.Contains("after 5 attempts in a row", StringComparison.Ordinal));

        // Backed off: a new message for it waits for the destination's retry time; other destinations go on.
        QueueId waiting = await h.CommitAsync("late@dead.example", "fine@live.example");
        await h.WaitForCalls(6);
        Assert.Equal("fine@live.example", Assert.Single(h.Agent.Requests.Skip(5)).Recipients.Single().Address.ToString());
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(waiting)?.Envelope.Recipients[1].Status == DeliveryStatus.Delivered, "live.example is recorded");
        SpoolEntry entry = h.Spool.Read(waiting)!;
        Assert.Equal(DeliveryStatus.Queued, entry.Envelope.Recipients[0].Status);
        Assert.Equal(0, entry.States[0].Attempts);

        h.Clock.Advance(TimeSpan.FromSeconds(299));
        await Task.Delay(50);
        Assert.Equal(6, h.Agent.Count);

        // At the destination's retry time (300 s) one delivery probes it; its failure backs it off once more (600 s), so
        // the other messages wait again instead of each failing on its own.
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.WaitForCalls(7);
        await Task.Delay(50);
        Assert.Equal(7, h.Agent.Count);
        Assert.Contains(h.Log.Lines, l => l.Text.StartsWith("Destination dead.example backed off until 2025-01-31T12:15:00", StringComparison.Ordinal));

        // The next probe gets through: the destination is back, and every waiting message goes, the new one too.
        Volatile.Write(ref _deadAnswers, 0);
        h.Clock.Advance(TimeSpan.FromSeconds(600));
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(waiting) is null, "the waiting message is delivered");
        Assert.Contains(h.Agent.Requests, r => r.Recipients.Single().Address.ToString() == "late@dead.example");
        Assert.Contains(h.Log.Lines, l => l.Text == "Destination dead.example answers again; no longer backed off");
    }

    [Fact]
    public async Task ADestinationThatAnswersAgainIsNoLongerBackedOff()
    {
        int failing = 1;
        await using var h = new SchedulerHarness((r, _) => Task.FromResult<IReadOnlyList<RecipientResult>>(r.Recipients.Select(_ =>
            Volatile.Read(ref failing) == 1 ? RecipientResult.Temporary("connection refused") : RecipientResult.Delivered("ok")).ToArray()), o =>
        {
            ByDomain(o);
            o.DeadDestinationAfter = 2;
        });
        await h.StartAsync();
        await h.CommitAsync("a@d.example");
        await h.WaitForCalls(1);
        await h.CommitAsync("b@d.example");
        await h.WaitForCalls(2);
        Volatile.Write(ref failing, 0);
        QueueId third = await h.CommitAsync("c@d.example");
        await Task.Delay(50);
        Assert.Equal(2, h.Agent.Count);
        h.Clock.Advance(TimeSpan.FromSeconds(300));
        // a and b were due again at +300 s too: three probes, all delivered.
        await h.WaitForCalls(5);
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(third) is null, "the third message is delivered");
        Assert.Contains(h.Log.Lines, l => l.Text == "Destination d.example answers again; no longer backed off");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
