using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

/// <summary>A spool in a temporary directory, a manual clock, a scripted agent and a recording notifier around a real
/// <see cref="QueueScheduler"/>.</summary>
internal sealed class SchedulerHarness : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly bool _ownsDirectory;

    public SchedulerHarness(Func<DeliveryRequest, int, Task<IReadOnlyList<RecipientResult>>> answer, Action<QueueSchedulerOptions>? configure = null,
        TempDirectory? directory = null, SchedulerClock? clock = null)
    {
        _ownsDirectory = directory is null;
        _dir = directory ?? new TempDirectory();
        Clock = clock ?? new SchedulerClock();
        Agent = new ScriptedAgent(answer);
        Options = new QueueSchedulerOptions { MaxConcurrentDeliveries = 8, ShutdownTimeout = TimeSpan.FromSeconds(5) };
        configure?.Invoke(Options);
        Spool = new Spool(new SpoolOptions { Directory = _dir.Combine("spool"), CorruptDirectory = _dir.Combine("corrupt") },
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Spool>.Instance);
        Scheduler = new QueueScheduler(Spool, Agent, Options, Log, Clock, Notifier);
    }

    public SchedulerClock Clock { get; }
    public ScriptedAgent Agent { get; }
    public RecordingNotifier Notifier { get; } = new();
    public ListLogger Log { get; } = new();
    public QueueSchedulerOptions Options { get; }
    public Spool Spool { get; }
    public QueueScheduler Scheduler { get; }
    public TempDirectory Directory => _dir;

    public static Func<DeliveryRequest, int, Task<IReadOnlyList<RecipientResult>>> All(Func<RecipientResult> result) =>
        (r, _) => Task.FromResult<IReadOnlyList<RecipientResult>>(r.Recipients.Select(_ => result()).ToArray());

    public Task StartAsync() => Scheduler.StartAsync(CancellationToken.None);

    /// <summary>Commits a message received now (by the manual clock).</summary>
    public async Task<QueueId> CommitAsync(params string[] recipients)
    {
        QueueId id = QueueId.New(DateTimeOffset.UtcNow);
        await using IMessageWriter writer = await Spool.BeginAsync(id, CancellationToken.None);
        await writer.WriteAsync("Subject: t\r\n\r\nbody\r\n"u8.ToArray(), CancellationToken.None);
        await writer.CommitAsync(SpoolTests.EnvelopeFor(id, recipients) with { ReceivedAt = Clock.GetUtcNow() }, CancellationToken.None);
        return id;
    }

    public static async Task WaitUntil(Func<bool> condition, string what)
    {
        for (int i = 0; i < 1000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), "timed out waiting until " + what);
    }

    /// <summary>Waits until the agent has been called <paramref name="calls"/> times in all and the scheduler is idle
    /// (nothing in flight).</summary>
    public async Task WaitForCalls(int calls)
    {
        for (int i = 0; i < 1000 && Agent.Count < calls; i++) await Task.Delay(10);
        Assert.True(Agent.Count >= calls, $"timed out waiting until the agent was called {calls} times (now {Agent.Count}); log:\n"
            + string.Join("\n", Log.Lines.Select(l => $"{l.Level}: {l.Text}")));
        await WaitUntil(() => Scheduler.InFlightCount == 0, "no delivery is in flight");
        Assert.Equal(calls, Agent.Count);
    }

    public async ValueTask DisposeAsync()
    {
        await Scheduler.DisposeAsync();
        Spool.Dispose();
        if (_ownsDirectory) _dir.Dispose();
    }

    internal sealed class ScriptedAgent(Func<DeliveryRequest, int, Task<IReadOnlyList<RecipientResult>>> answer) : IDeliveryAgent
    {
        private int _count;
        public ConcurrentQueue<DeliveryRequest> Requests { get; } = new();
        public int Count => Volatile.Read(ref _count);

        public Task<IReadOnlyList<RecipientResult>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
        {
            Requests.Enqueue(request);
            return answer(request, Interlocked.Increment(ref _count));
        }
    }

    internal sealed class RecordingNotifier : IDeliveryNotifier
    {
        public ConcurrentQueue<DeliveryNotice> Notices { get; } = new();
        public Exception? Throw { get; set; }
        public Func<DeliveryNotice, bool>? BodyReadable { get; set; }
        public ConcurrentQueue<bool> BodyWasReadable { get; } = new();

        public Task NotifyAsync(DeliveryNotice notice, CancellationToken cancellationToken)
        {
            Notices.Enqueue(notice);
            try
            {
                BodyWasReadable.Enqueue(Spool.ReadBody(notice.Entry).Length == notice.Entry.Envelope.Size);
            }
            catch (IOException)
            {
                BodyWasReadable.Enqueue(false);
            }
            return Throw is { } e ? Task.FromException(e) : Task.CompletedTask;
        }
    }

    internal sealed class ListLogger : ILogger<QueueScheduler>
    {
        public ConcurrentQueue<(LogLevel Level, string Text)> Lines { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue((logLevel, formatter(state, exception)));
    }
}
