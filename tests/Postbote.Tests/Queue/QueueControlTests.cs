using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

public sealed class QueueControlTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly Func<RecipientResult> TryLater = () => RecipientResult.Temporary("try later");

    private SchedulerHarness Harness(Func<RecipientResult> result, SchedulerClock? clock = null) =>
        new(SchedulerHarness.All(result), directory: _dir, clock: clock);

    [Fact]
    public async Task AHeldMessageIsNotAttemptedSurvivesARestartAndIsDeliveredWhenReleased()
    {
        var clock = new SchedulerClock();
        QueueId id;
        await using (var h = Harness(TryLater, clock))
        {
            await h.StartAsync();
            id = await h.CommitAsync("a@example.com", "b@example.com");
            await h.WaitForCalls(1);
            await SchedulerHarness.WaitUntil(() => h.Spool.Read(id)?.States[0].Attempts == 1, "the attempt is recorded");

            Assert.Equal(QueueControlResult.Done, await h.Scheduler.HoldAsync(id, CancellationToken.None));
            Assert.Equal(QueueControlResult.NotApplicable, await h.Scheduler.HoldAsync(id, CancellationToken.None));
            Assert.Equal([DeliveryStatus.Held, DeliveryStatus.Held], h.Spool.Read(id)!.Envelope.Recipients.Select(r => r.Status));
            Assert.Equal(QueueControlResult.NotApplicable, await h.Scheduler.RetryAsync(id, CancellationToken.None));
            Assert.Equal(0, h.Scheduler.Flush());
            clock.Advance(TimeSpan.FromHours(2));
            await Task.Delay(50);
            Assert.Equal(1, h.Agent.Count);
            Assert.Contains(h.Log.Lines, l => l.Text.StartsWith($"{id}: held (2 recipients", StringComparison.Ordinal));
        }

        await using (var h = Harness(() => RecipientResult.Delivered("ok"), clock))
        {
            await h.StartAsync();
            await SchedulerHarness.WaitUntil(() => h.Scheduler.Show(id) is not null, "the held message is recovered");
            clock.Advance(TimeSpan.FromHours(2));
            await Task.Delay(100);
            Assert.Equal(0, h.Agent.Count);
            QueueEntryInfo listed = Assert.Single(h.Scheduler.List());
            Assert.Equal(id, listed.Id);
            Assert.Equal([DeliveryStatus.Held, DeliveryStatus.Held], listed.Recipients.Select(r => r.Status));
            Assert.Equal("451 4.3.0 try later", listed.States[0].LastReply);

            Assert.Equal(QueueControlResult.Done, await h.Scheduler.ReleaseAsync(id, CancellationToken.None));
            Assert.Equal(QueueControlResult.NotApplicable, await h.Scheduler.ReleaseAsync(id, CancellationToken.None));
            await h.WaitForCalls(1);
            await SchedulerHarness.WaitUntil(() => h.Spool.Read(id) is null, "the released message is delivered and retired");
            Assert.Equal(2, Assert.Single(h.Agent.Requests).Recipients.Count);
            Assert.Empty(h.Scheduler.List());
            Assert.Equal(QueueControlResult.NotFound, await h.Scheduler.ReleaseAsync(id, CancellationToken.None));
        }
    }

    [Fact]
    public async Task ADeletedMessageIsGoneWithoutANoticeAndStaysGoneAfterARestart()
    {
        var clock = new SchedulerClock();
        QueueId id, other;
        await using (var h = Harness(TryLater, clock))
        {
            await h.StartAsync();
            id = await h.CommitAsync("a@example.com");
            other = await h.CommitAsync("b@example.com");
            await h.WaitForCalls(2);
            await SchedulerHarness.WaitUntil(() => h.Scheduler.DeferredCount == 2, "both are deferred");

            Assert.Equal(QueueControlResult.Done, await h.Scheduler.DeleteAsync(id, CancellationToken.None));
            Assert.Null(h.Spool.Read(id));
            Assert.Null(h.Scheduler.Show(id));
            Assert.Equal(QueueControlResult.NotFound, await h.Scheduler.DeleteAsync(id, CancellationToken.None));
            Assert.Contains(h.Log.Lines, l => l.Text == $"{id}: deleted by the administrator: removed without delivery or notice");
            clock.Advance(TimeSpan.FromDays(6));
            await h.WaitForCalls(3);
            Assert.Equal(other, h.Agent.Requests.Last().Envelope.Id);
            // The other one expired: its notice is the only one.
            Assert.All(h.Notifier.Notices, n => Assert.Equal(other, n.Entry.Envelope.Id));
        }
        await using (var h = Harness(() => RecipientResult.Delivered("ok"), clock))
        {
            await h.StartAsync();
            await Task.Delay(100);
            Assert.Equal(0, h.Agent.Count);
            Assert.Empty(h.Scheduler.List());
        }
    }

    [Fact]
    public async Task DeletingAMessageInAnAttemptRetiresItWhenTheAttemptEnds()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var h = new SchedulerHarness(async (r, _) =>
        {
            await gate.Task;
            return r.Recipients.Select(_ => RecipientResult.Permanent(EnhancedStatusCode.BadDestinationMailbox, "no such user")).ToArray();
        }, directory: _dir);
        await h.StartAsync();
        QueueId id = await h.CommitAsync("a@example.com");
        await SchedulerHarness.WaitUntil(() => h.Agent.Count == 1, "the attempt started");

        Task<QueueControlResult> delete = h.Scheduler.DeleteAsync(id, CancellationToken.None);
        await Task.Delay(50);
        Assert.False(delete.IsCompleted);
        Assert.NotNull(h.Spool.Read(id));
        gate.SetResult();
        Assert.Equal(QueueControlResult.Done, await delete.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Null(h.Spool.Read(id));
        Assert.Empty(h.Notifier.Notices);
    }

    [Fact]
    public async Task FlushAndRetryMakeDeferredRecipientsDueNow()
    {
        await using var h = new SchedulerHarness(SchedulerHarness.All(TryLater), directory: _dir);
        await h.StartAsync();
        QueueId id = await h.CommitAsync("a@example.com");
        await h.WaitForCalls(1);
        await SchedulerHarness.WaitUntil(() => h.Scheduler.DeferredCount == 1, "deferred");
        Assert.Equal(QueueControlResult.Done, await h.Scheduler.RetryAsync(id, CancellationToken.None));
        await h.WaitForCalls(2);
        await SchedulerHarness.WaitUntil(() => h.Spool.Read(id)?.States[0].Attempts == 2, "the retry is recorded");
        Assert.Equal(1, h.Scheduler.Flush());
        await h.WaitForCalls(3);
        Assert.Equal(QueueControlResult.NotFound, await h.Scheduler.RetryAsync(QueueId.New(DateTimeOffset.UtcNow), CancellationToken.None));
    }
}

public sealed class QueueRelocationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A retry recorded after a restart goes into a new segment and the old one is deleted: the next attempt
    /// must read the body where the spool keeps it now, not set the message aside as damaged.</summary>
    [Fact]
    public async Task ADeferredMessageIsRetriedAfterItsRecordMovedToANewSegment()
    {
        var clock = new SchedulerClock();
        QueueId id;
        await using (var h = new SchedulerHarness(SchedulerHarness.All(() => RecipientResult.Temporary("try later")), directory: _dir, clock: clock))
        {
            await h.StartAsync();
            id = await h.CommitAsync("a@example.com");
            await h.WaitForCalls(1);
            await SchedulerHarness.WaitUntil(() => h.Scheduler.DeferredCount == 1, "deferred");
        }
        await using (var h = new SchedulerHarness(SchedulerHarness.All(() => RecipientResult.Temporary("try later")), directory: _dir, clock: clock))
        {
            await h.StartAsync();
            for (int calls = 1; calls <= 3; calls++)
            {
                clock.Advance(TimeSpan.FromHours(1));
                await h.WaitForCalls(calls);
                await SchedulerHarness.WaitUntil(() => h.Spool.Read(id)?.States[0].Attempts == calls + 1, $"attempt {calls + 1} is recorded");
            }
            Assert.False(Directory.Exists(_dir.Combine("corrupt")) && Directory.EnumerateFileSystemEntries(_dir.Combine("corrupt")).Any(),
                "the message was set aside");
            Assert.Equal("Subject: t\r\n\r\nbody\r\n"u8.ToArray(), Spool.ReadBody(h.Scheduler.Show(id)!));
        }
    }
}
