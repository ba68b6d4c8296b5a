using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

public sealed class QueueRetryScheduleTests
{
    private static readonly Func<RecipientResult> TryLater = () => RecipientResult.Temporary("try later");

    [Fact]
    public async Task DefaultBackoffIs300DoublingToACapOf3600Seconds()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(TryLater));
        Assert.Equal([300, 600, 1200, 2400, 3600, 3600, 3600], Enumerable.Range(1, 7).Select(n => h.Scheduler.Backoff(n).TotalSeconds));

        // The same schedule end to end: what is recorded in the spool after each attempt, and when the next one comes.
        await h.StartAsync();
        QueueId id = await h.CommitAsync("a@example.com");
        var gaps = new List<double>();
        for (int attempt = 1; attempt <= 6; attempt++)
        {
            await h.WaitForCalls(attempt);
            await SchedulerHarness.WaitUntil(() => h.Spool.Read(id)?.States[0].Attempts == attempt, $"attempt {attempt} is recorded");
            RecipientQueueState state = h.Spool.Read(id)!.States[0];
            Assert.Equal(h.Clock.GetUtcNow(), state.LastAttemptAt);
            gaps.Add((state.NextAttemptAt!.Value - state.LastAttemptAt!.Value).TotalSeconds);
            // One second early: not yet.
            h.Clock.Advance(state.NextAttemptAt.Value - h.Clock.GetUtcNow() - TimeSpan.FromSeconds(1));
            await Task.Delay(30);
            Assert.Equal(attempt, h.Agent.Count);
            h.Clock.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Equal([300, 600, 1200, 2400, 3600, 3600], gaps);
    }

    [Fact]
    public async Task ARecipientStillDeferredAfterTheLifetimeFailsWithItsLastReplyAndIsNotifiedOnce()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(TryLater));
        await h.StartAsync();
        QueueId id = await h.CommitAsync("a@example.com");
        DateTimeOffset received = h.Clock.GetUtcNow();
        int calls = 1;
        for (; calls < 200; calls++)
        {
            await h.WaitForCalls(calls);
            if (h.Spool.Read(id) is null) break;
            if (h.Clock.NextDue is not { } next) break;
            h.Clock.Advance(next - h.Clock.GetUtcNow());
        }
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(id) is null, "the expired message is retired");
        // 300+600+1200+2400 then hourly: the last attempt is the first one at or past 5 days.
        Assert.True(h.Clock.GetUtcNow() - received >= TimeSpan.FromDays(5));
        Assert.True(h.Clock.GetUtcNow() - received < TimeSpan.FromDays(5) + TimeSpan.FromHours(1));

        DeliveryNotice failed = Assert.Single(h.Notifier.Notices, n => n.Recipients.Any(r => r.Action == DsnAction.Failed));
        Assert.Equal([new NoticeRecipient(0, DsnAction.Failed)], failed.Recipients);
        Assert.Equal(DeliveryStatus.Failed, failed.Entry.Envelope.Recipients[0].Status);
        Assert.Equal("451 4.3.0 try later", failed.Entry.States[0].LastReply);
        Assert.Equal(calls, failed.Entry.States[0].Attempts);
        Assert.Contains(h.Log.Lines, l => l.Text.Contains($"{id}: to=<a@example.com>, relay=none, delay=432", StringComparison.Ordinal)
            && l.Text.Contains("status=expired (451 4.3.0 try later)", StringComparison.Ordinal));
        // Nothing after expiry.
        h.Clock.Advance(TimeSpan.FromDays(1));
        await Task.Delay(50);
        Assert.Equal(calls, h.Agent.Count);
    }

    [Fact]
    public async Task ADelayNoticeGoesOutOnceAfterTheDelayWarningTime()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(TryLater));
        await h.StartAsync();
        QueueId id = await h.CommitAsync("a@example.com", "b@example.com");
        DateTimeOffset received = h.Clock.GetUtcNow();
        for (int calls = 1; calls <= 12; calls++)
        {
            await h.WaitForCalls(calls);
            await SchedulerHarness.WaitUntil(() => h.Spool.Read(id)?.States[0].Attempts == calls, $"attempt {calls} is recorded");
            bool past = h.Clock.GetUtcNow() - received >= TimeSpan.FromHours(4);
            Assert.Equal(past ? 1 : 0, h.Notifier.Notices.Count);
            Assert.Equal(past, h.Spool.Read(id)!.States[0].DelayNotified);
            h.Clock.Advance(h.Clock.NextDue!.Value - h.Clock.GetUtcNow());
        }
        DeliveryNotice delayed = Assert.Single(h.Notifier.Notices);
        Assert.Equal([new NoticeRecipient(0, DsnAction.Delayed), new NoticeRecipient(1, DsnAction.Delayed)], delayed.Recipients);
        // Attempts at 0, 300, 900, 2100, 4500, 8100, 11700, 15300 s: the first past 14400 s is the eighth.
        Assert.Equal(8, delayed.Entry.States[0].Attempts);
        Assert.True(delayed.Entry.States[0].DelayNotified);
        Assert.Equal(DeliveryStatus.Deferred, delayed.Entry.Envelope.Recipients[0].Status);
    }

    [Fact]
    public async Task DelayWarningTimeZeroSendsNoDelayNotice()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(TryLater), o => o.DelayWarningTime = TimeSpan.Zero);
        await h.StartAsync();
        await h.CommitAsync("a@example.com");
        for (int calls = 1; calls <= 10; calls++)
        {
            await h.WaitForCalls(calls);
            h.Clock.Advance(h.Clock.NextDue!.Value - h.Clock.GetUtcNow());
        }
        Assert.Empty(h.Notifier.Notices);
    }

    [Fact]
    public async Task NoticesListFailedDeliveredAndRelayedButNotRelayedWithDsn()
    {
        await using var h = new SchedulerHarness((r, _) => Task.FromResult<IReadOnlyList<RecipientResult>>(r.Recipients.Select(x => x.Address.LocalPart switch
        {
            "gone" => RecipientResult.Permanent(EnhancedStatusCode.BadDestinationMailbox, "no such user") with { RemoteHost = "mx.example.com[192.0.2.1]:25" },
            "final" => RecipientResult.Delivered("ok"),
            "relayed" => RecipientResult.Delivered("ok") with { Handover = DeliveryHandover.Relayed },
            _ => RecipientResult.Delivered("ok") with { Handover = DeliveryHandover.RelayedWithDsn },
        }).ToArray()));
        await h.StartAsync();
        QueueId id = await h.CommitAsync("gone@example.com", "final@example.com", "relayed@example.com", "dsn@example.com");
        await h.WaitForCalls(1);
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(id) is null, "the message is retired");

        DeliveryNotice notice = Assert.Single(h.Notifier.Notices);
        Assert.Equal([new NoticeRecipient(0, DsnAction.Failed), new NoticeRecipient(1, DsnAction.Delivered), new NoticeRecipient(2, DsnAction.Relayed)],
            notice.Recipients);
        RecipientQueueState gone = notice.Entry.States[0];
        Assert.Equal("550 5.1.1 no such user", gone.LastReply);
        Assert.Equal(new EnhancedStatusCode(5, 1, 1), gone.LastReplyStatus);
        Assert.Equal("mx.example.com[192.0.2.1]:25", gone.RemoteHost);
        Assert.Equal(DeliveryHandover.RelayedWithDsn, notice.Entry.States[3].Handover);
        Assert.True(Assert.Single(h.Notifier.BodyWasReadable), "the body was gone when the notice was built");
        Assert.Contains(h.Log.Lines, l => l.Text == $"{id}: to=<gone@example.com>, relay=mx.example.com[192.0.2.1]:25, delay=0, attempts=1, status=bounced (550 5.1.1 no such user)");
    }

    [Fact]
    public async Task ANoticeForARecipientStillQueuedComesAfterItsStateIsRecorded()
    {
        await using var h = new SchedulerHarness((r, _) => Task.FromResult<IReadOnlyList<RecipientResult>>(r.Recipients.Select(x =>
            x.Address.LocalPart == "gone" ? RecipientResult.Permanent(EnhancedStatusCode.BadDestinationMailbox, "no such user") : TryLater()).ToArray()));
        QueueId? id = null;
        SpoolEntry? recordedAtNotice = null;
        h.Notifier.Throw = null;
        await h.StartAsync();
        id = await h.CommitAsync("gone@example.com", "later@example.com");
        await h.WaitForCalls(1);
        await SchedulerHarness.WaitUntil(() => !h.Notifier.Notices.IsEmpty, "the notice came");
        recordedAtNotice = h.Spool.Read(id.Value);
        Assert.NotNull(recordedAtNotice);
        Assert.Equal([DeliveryStatus.Failed, DeliveryStatus.Deferred], recordedAtNotice.Envelope.Recipients.Select(r => r.Status));
        Assert.Equal([new NoticeRecipient(0, DsnAction.Failed)], Assert.Single(h.Notifier.Notices).Recipients);
    }

    [Fact]
    public async Task ANotifierFailureIsLoggedAndNeitherCrashesNorRedelivers()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(() => RecipientResult.Permanent(EnhancedStatusCode.BadDestinationMailbox, "no such user")));
        h.Notifier.Throw = new IOException("disk full");
        await h.StartAsync();
        QueueId id = await h.CommitAsync("a@example.com");
        await h.WaitForCalls(1);
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(id) is null, "the message is retired");
        Assert.Contains(h.Log.Lines, l => l.Level == LogLevel.Error && l.Text.StartsWith($"{id}: the delivery notice failed (Failed)", StringComparison.Ordinal));
        h.Clock.Advance(TimeSpan.FromDays(1));
        await Task.Delay(50);
        Assert.Equal(1, h.Agent.Count);

        // The scheduler goes on with the next message.
        h.Notifier.Throw = null;
        await h.CommitAsync("b@example.com");
        await h.WaitForCalls(2);
        await SchedulerHarness.WaitUntil(() => h.Notifier.Notices.Count == 2, "the second notice came");
    }
}
