using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

public sealed class QueueSchedulerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Spool NewSpool() => new(new SpoolOptions
    {
        Directory = _dir.Combine("spool"),
        CorruptDirectory = _dir.Combine("corrupt"),
    }, NullLogger<Spool>.Instance);

    private static QueueScheduler NewScheduler(Spool spool, IDeliveryAgent agent, TimeSpan? retry = null) =>
        new(spool, agent, new QueueSchedulerOptions
        {
            MaxConcurrentDeliveries = 4,
            RetryInterval = retry ?? TimeSpan.FromSeconds(300),
            MaxRetryInterval = TimeSpan.FromHours(4),
            ShutdownTimeout = TimeSpan.FromSeconds(5),
        }, NullLogger<QueueScheduler>.Instance);

    private sealed class ScriptedAgent(Func<DeliveryRequest, int, IReadOnlyList<RecipientResult>> answer) : IDeliveryAgent
    {
        public ConcurrentQueue<DeliveryRequest> Requests { get; } = new();
        public SemaphoreSlim Calls { get; } = new(0);
        private int _count;

        public Task<IReadOnlyList<RecipientResult>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
        {
            int n = Interlocked.Increment(ref _count);
            Requests.Enqueue(request);
            try
            {
                return Task.FromResult(answer(request, n));
            }
            finally
            {
                Calls.Release();
            }
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }

    [Fact]
    public void BackoffDoublesFrom300SecondsUpTo4Hours()
    {
        using Spool spool = NewSpool();
        var scheduler = NewScheduler(spool, new ScriptedAgent((_, _) => []));
        Assert.Equal(TimeSpan.FromSeconds(300), scheduler.Backoff(1));
        Assert.Equal(TimeSpan.FromSeconds(600), scheduler.Backoff(2));
        Assert.Equal(TimeSpan.FromSeconds(1200), scheduler.Backoff(3));
        Assert.Equal(TimeSpan.FromSeconds(9600), scheduler.Backoff(6));
        Assert.Equal(TimeSpan.FromHours(4), scheduler.Backoff(7));
        Assert.Equal(TimeSpan.FromHours(4), scheduler.Backoff(1000));
    }

    [Fact]
    public async Task DeliveredMessageIsRemovedFromTheSpool()
    {
        using Spool spool = NewSpool();
        var agent = new ScriptedAgent((r, _) => r.Recipients.Select(_ => RecipientResult.Delivered("ok")).ToArray());
        await using QueueScheduler scheduler = NewScheduler(spool, agent);
        await scheduler.StartAsync(CancellationToken.None);

        QueueId id = await SpoolTests.CommitAsync(spool, "Subject: x\r\n\r\nbody\r\n"u8.ToArray(), 7, "a@example.com", "b@example.com");
        await WaitUntil(() => spool.Read(id) is null);

        DeliveryRequest request = Assert.Single(agent.Requests);
        Assert.Equal(id, request.Envelope.Id);
        Assert.False(request.IsRecovered);
        Assert.Equal("Subject: x\r\n\r\nbody\r\n"u8.ToArray(), Spool.ReadBody(new SpoolEntry(request.Envelope, [], request.BodyPath, false) { BodyOffset = request.BodyOffset }));
        Assert.Equal(["a@example.com", "b@example.com"], request.Recipients.Select(r => r.Address.ToString()));
    }

    [Fact]
    public async Task DeferredRecipientIsRecordedAndRetriedAsRecovered()
    {
        using Spool spool = NewSpool();
        var agent = new ScriptedAgent((r, n) => n == 1
            ? [RecipientResult.Delivered("ok"), RecipientResult.Temporary("try later")]
            : r.Recipients.Select(_ => RecipientResult.Delivered("ok")).ToArray());
        await using QueueScheduler scheduler = NewScheduler(spool, agent, TimeSpan.FromMilliseconds(300));
        await scheduler.StartAsync(CancellationToken.None);

        QueueId id = await SpoolTests.CommitAsync(spool, "x"u8.ToArray(), 1, "a@example.com", "b@example.com");
        Assert.True(await agent.Calls.WaitAsync(TimeSpan.FromSeconds(5)));
        await WaitUntil(() => scheduler.DeferredCount == 1);

        SpoolEntry? saved = spool.Read(id);
        Assert.NotNull(saved);
        Assert.Equal([DeliveryStatus.Delivered, DeliveryStatus.Deferred], saved.Envelope.Recipients.Select(r => r.Status));
        Assert.Equal(1, saved.States[1].Attempts);
        Assert.Equal("451 4.3.0 try later", saved.States[1].LastReply);
        Assert.Equal("250 2.0.0 ok", saved.States[0].LastReply);
        Assert.NotNull(saved.States[1].NextAttemptAt);

        Assert.True(await agent.Calls.WaitAsync(TimeSpan.FromSeconds(5)));
        await WaitUntil(() => spool.Read(id) is null);
        DeliveryRequest[] requests = agent.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        DeliveryRequest retry = requests[1];
        Assert.True(retry.IsRecovered);
        Assert.Equal("b@example.com", Assert.Single(retry.Recipients).Address.ToString());
    }

    [Fact]
    public async Task DeferredRecipientKeepsItsNextAttemptAcrossARestart()
    {
        QueueId id;
        using (Spool first = NewSpool())
        {
            var deferring = new ScriptedAgent((r, _) => r.Recipients.Select(_ => RecipientResult.Temporary("451 4.3.0 try later")).ToArray());
            await using (QueueScheduler scheduler = NewScheduler(first, deferring, retry: TimeSpan.FromSeconds(3)))
            {
                await scheduler.StartAsync(CancellationToken.None);
                id = await SpoolTests.CommitAsync(first, "x"u8.ToArray(), 1, "a@example.com");
                await WaitUntil(() => scheduler.DeferredCount == 1);
            }
        }

        // The restart comes well before the recipient is due again: it must wait for its time, not be tried at once.
        using Spool spool = NewSpool();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var delivering = new ScriptedAgent((r, _) => r.Recipients.Select(_ => RecipientResult.Delivered("250 2.0.0 ok")).ToArray());
        await using QueueScheduler again = NewScheduler(spool, delivering, retry: TimeSpan.FromSeconds(3));
        await again.StartAsync(CancellationToken.None);
        DateTimeOffset due = spool.Read(id)!.States[0].NextAttemptAt!.Value;
        Assert.False(await delivering.Calls.WaitAsync(TimeSpan.FromSeconds(1)), "the recovered message was tried before it was due");
        Assert.Equal(1, again.DeferredCount);
        Assert.True(await delivering.Calls.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(DateTimeOffset.UtcNow >= due - TimeSpan.FromMilliseconds(50), $"tried at {DateTimeOffset.UtcNow:O}, due {due:O}");
        await WaitUntil(() => spool.Read(id) is null);
        Assert.Single(delivering.Requests);
    }

    [Fact]
    public async Task AgentExceptionDefersEveryRecipient()
    {
        using Spool spool = NewSpool();
        var agent = new ScriptedAgent((_, _) => throw new InvalidOperationException("boom"));
        await using QueueScheduler scheduler = NewScheduler(spool, agent);
        await scheduler.StartAsync(CancellationToken.None);

        QueueId id = await SpoolTests.CommitAsync(spool, "x"u8.ToArray(), 1, "a@example.com", "b@example.com");
        await WaitUntil(() => scheduler.DeferredCount == 1);
        SpoolEntry? saved = spool.Read(id);
        Assert.NotNull(saved);
        Assert.All(saved.Envelope.Recipients, r => Assert.Equal(DeliveryStatus.Deferred, r.Status));
        Assert.All(saved.States, s => Assert.Equal(1, s.Attempts));
    }

    [Fact]
    public async Task RecoveredEntryIsDeliveredAtStart()
    {
        QueueId id;
        using (Spool first = NewSpool())
        {
            id = await SpoolTests.CommitAsync(first, "x"u8.ToArray(), 1, "a@example.com");
        }
        using Spool spool = NewSpool();
        var agent = new ScriptedAgent((r, _) => r.Recipients.Select(_ => RecipientResult.Delivered("ok")).ToArray());
        await using QueueScheduler scheduler = NewScheduler(spool, agent);
        await scheduler.StartAsync(CancellationToken.None);
        await WaitUntil(() => spool.Read(id) is null);
        DeliveryRequest request = Assert.Single(agent.Requests);
        Assert.True(request.IsRecovered);
    }

    [Fact]
    public async Task StopLeavesUndeliveredEntriesInTheSpool()
    {
        using Spool spool = NewSpool();
        var agent = new ScriptedAgent((_, _) => []);
        QueueScheduler scheduler = NewScheduler(spool, agent);
        await scheduler.StartAsync(CancellationToken.None);
        await scheduler.StopAsync(CancellationToken.None);

        QueueId id = await SpoolTests.CommitAsync(spool, "x"u8.ToArray(), 1, "a@example.com");
        await Task.Delay(50);
        Assert.Empty(agent.Requests);
        Assert.NotNull(spool.Read(id));
        await scheduler.DisposeAsync();
    }
}
