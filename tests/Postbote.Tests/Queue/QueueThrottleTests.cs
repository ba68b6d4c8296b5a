using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

/// <summary>Destination feedback: a throttling destination gets a smaller window and spaced starts, its throttled
/// recipients come back at its spacing instead of the retry backoff, other destinations go on at once; the rate limit and
/// the recipient limit per delivery.</summary>
public sealed class QueueThrottleTests
{
    private static void ByDomain(QueueSchedulerOptions o) => o.Destination = m => m.Domain.ToLowerInvariant();

    private static RecipientResult Throttled() =>
        new(DeliveryOutcome.TemporaryFailure, new SmtpReply(SmtpReplyCode.ServiceNotAvailable, new EnhancedStatusCode(4, 7, 0), "too many connections")) { Throttled = true };

    [Fact]
    public async Task AThrottlingDestinationIsSpacedWhileOthersGoOnAtOnce()
    {
        int busyCalls = 0;
        await using var h = new SchedulerHarness((r, _) =>
        {
            bool busy = r.Recipients[0].Address.Domain == "busy.example";
            bool first = busy && Interlocked.Increment(ref busyCalls) == 1;
            return Task.FromResult<IReadOnlyList<RecipientResult>>(r.Recipients.Select(_ => first ? Throttled() : RecipientResult.Delivered("ok")).ToArray());
        }, o =>
        {
            ByDomain(o);
            o.DestinationConcurrency = 4;
        });
        await h.StartAsync();
        DateTimeOffset t0 = h.Clock.GetUtcNow();
        QueueId first = await h.CommitAsync("a@busy.example");
        await h.WaitForCalls(1);
        Assert.Contains(h.Log.Lines, l => l.Text.StartsWith("Destination busy.example asks to slow down (421 4.7.0 too many connections): concurrency 4 -> 2, next start not before 2025-01-31T12:00:01", StringComparison.Ordinal));
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(first)?.States[0].Attempts == 1, "the throttled attempt is recorded");
        // Tried again at the destination's spacing (1 s), not after the retry interval (300 s).
        Assert.Equal(t0 + TimeSpan.FromSeconds(1), h.Spool.Read(first)!.States[0].NextAttemptAt);

        // Within the spacing nothing starts to busy.example; calm.example is not held up.
        QueueId second = await h.CommitAsync("b@busy.example");
        QueueId calm = await h.CommitAsync("c@calm.example");
        await h.WaitForCalls(2);
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(calm) is null, "calm.example is delivered at once");
        Assert.Equal("c@calm.example", h.Agent.Requests.Last().Recipients[0].Address.ToString());

        // At +1 s one delivery starts (the spacing lets one through at a time); its success halves the spacing below
        // ThrottleDelay, so the other one follows at once.
        h.Clock.Advance(TimeSpan.FromSeconds(0.9));
        await Task.Delay(50);
        Assert.Equal(2, h.Agent.Count);
        h.Clock.Advance(TimeSpan.FromSeconds(0.1));
        await h.WaitForCalls(4);
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(first) is null && h.Spool.Read(second) is null, "both are delivered");
        Assert.Equal(4, h.Agent.Count);
    }

    [Fact]
    public async Task SuccessesWidenTheWindowAgainUpToTheConcurrency()
    {
        int calls = 0;
        await using var h = new SchedulerHarness((r, _) =>
        {
            int n = Interlocked.Increment(ref calls);
            return Task.FromResult<IReadOnlyList<RecipientResult>>(r.Recipients.Select(_ => n <= 2 ? Throttled() : RecipientResult.Delivered("ok")).ToArray());
        }, o =>
        {
            ByDomain(o);
            o.DestinationConcurrency = 8;
            o.ThrottleDelay = TimeSpan.FromSeconds(2);
        });
        await h.StartAsync();
        await h.CommitAsync("a@busy.example");
        await h.WaitForCalls(1);
        h.Clock.Advance(TimeSpan.FromSeconds(2));
        await h.WaitForCalls(2);
        // The second throttle halves again and doubles the spacing: 8 -> 4 -> 2, 2 s -> 4 s.
        Assert.Contains(h.Log.Lines, l => l.Text.Contains("concurrency 8 -> 4", StringComparison.Ordinal) && l.Text.EndsWith("(2 s apart)", StringComparison.Ordinal));
        Assert.Contains(h.Log.Lines, l => l.Text.Contains("concurrency 4 -> 2", StringComparison.Ordinal) && l.Text.EndsWith("(4 s apart)", StringComparison.Ordinal));
        h.Clock.Advance(TimeSpan.FromSeconds(3));
        await Task.Delay(50);
        Assert.Equal(2, h.Agent.Count);
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.WaitForCalls(3);

        // After the success: window 3, spacing halved to 2 s from the last start. Six messages wait for it; then one starts,
        // its success halves the spacing below ThrottleDelay (gone) and widens the window, and the rest follow at once.
        for (int i = 0; i < 6; i++) await h.CommitAsync($"m{i}@busy.example");
        await Task.Delay(50);
        Assert.Equal(3, h.Agent.Count);
        h.Clock.Advance(TimeSpan.FromSeconds(2));
        await h.WaitForCalls(9);
    }

    [Fact]
    public async Task ThrottledAttemptsDoNotMakeADestinationDead()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(Throttled), o =>
        {
            ByDomain(o);
            o.DeadDestinationAfter = 2;
        });
        await h.StartAsync();
        await h.CommitAsync("u@busy.example");
        await h.WaitForCalls(1);
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.WaitForCalls(2);
        h.Clock.Advance(TimeSpan.FromSeconds(2));
        await h.WaitForCalls(3);
        // Three throttled attempts in a row, more than DeadDestinationAfter: spaced 1, 2, 4 s, never backed off as dead.
        Assert.DoesNotContain(h.Log.Lines, l => l.Text.Contains("backed off", StringComparison.Ordinal));
        Assert.Contains(h.Log.Lines, l => l.Text.Contains("concurrency 5 -> 2", StringComparison.Ordinal) && l.Text.EndsWith("(4 s apart)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheRateLimitSpacesTheStarts()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(() => RecipientResult.Delivered("ok")), o =>
        {
            ByDomain(o);
            o.DestinationRateLimit = 30; // one start every 2 s
        });
        await h.StartAsync();
        for (int i = 0; i < 3; i++) await h.CommitAsync($"u{i}@rate.example");
        await h.CommitAsync("v@other.example");
        await h.WaitForCalls(2);
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await Task.Delay(50);
        Assert.Equal(2, h.Agent.Count);
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.WaitForCalls(3);
        h.Clock.Advance(TimeSpan.FromSeconds(2));
        await h.WaitForCalls(4);
    }

    [Fact]
    public async Task TheRecipientLimitSplitsADestinationsRecipientsIntoSeveralDeliveries()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(() => RecipientResult.Delivered("ok")), o =>
        {
            ByDomain(o);
            o.DestinationRecipientLimit = 2;
        });
        await h.StartAsync();
        QueueId id = await h.CommitAsync("a@d.example", "b@d.example", "x@e.example", "c@d.example", "d@d.example", "e@d.example");
        await h.WaitForCalls(4);
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(id) is null, "the message is retired");
        Assert.Equal(["a,b", "c,d", "e", "x"],
            h.Agent.Requests.Select(r => string.Join(",", r.Recipients.Select(x => x.Address.LocalPart))).Order(StringComparer.Ordinal));
    }
}
