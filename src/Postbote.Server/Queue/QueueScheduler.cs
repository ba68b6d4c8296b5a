using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Tracing;

namespace Postbote.Queue;

/// <summary>
/// The queue manager: takes committed and recovered messages from the <see cref="Spool"/>, splits each message's due
/// recipients into one <see cref="DeliveryRequest"/> per destination, hands them to an <see cref="IDeliveryAgent"/>
/// with bounded concurrency (in all, and per destination), records each recipient's outcome in the spool, reports
/// failures, delays and deliveries to an <see cref="IDeliveryNotifier"/>, and retries temporarily failed recipients
/// with a doubling backoff until the message's lifetime ends (RFC 5321 §4.5.4.1: "mail that cannot be transmitted
/// immediately MUST be queued and periodically retried by the sender").
/// </summary>
/// <remarks>
/// <para>Several deliveries run at once (<see cref="QueueSchedulerOptions.MaxConcurrentDeliveries"/> messages), so the
/// agents' syncs share rounds. Each deferred recipient's next attempt time is stored in the spool and a timer per
/// message waits for the earliest: after a restart a recovered message is tried when its earliest pending recipient is
/// due (at once when that time has passed while the server was down). Stopping leaves undelivered entries in the
/// spool.</para>
/// <para>The scheduler knows no SMTP and no DNS: a destination is a key from
/// <see cref="QueueSchedulerOptions.Destination"/>, a reply is a value in a <see cref="RecipientResult"/>.</para>
/// </remarks>
public sealed partial class QueueScheduler : IQueueControl, IAsyncDisposable
{
    private readonly Spool _spool;
    private readonly IDeliveryAgent _agent;
    private readonly IDeliveryNotifier? _notifier;
    private readonly QueueSchedulerOptions _options;
    private readonly ILogger<QueueScheduler> _logger;
    private readonly TimeProvider _time;
    private readonly IMessageEvents _events;
    private readonly PostboteMetrics? _metrics;
    private readonly Channel<QueuedMessage> _work =
        Channel.CreateUnbounded<QueuedMessage>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly ConcurrentDictionary<QueueId, QueuedMessage> _messages = new();
    private readonly ConcurrentDictionary<QueueId, ITimer> _retries = new();
    private readonly ConcurrentDictionary<string, DestinationQueue> _destinations = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private Task _running = Task.CompletedTask;
    private int _started;
    private int _inFlight;

    /// <summary>Creates the scheduler; <see cref="StartAsync"/> starts it.</summary>
    /// <param name="spool">The spool to read committed messages from and to record outcomes in.</param>
    /// <param name="agent">The delivery agent, usually the router.</param>
    /// <param name="options">Concurrency, retry schedule, lifetime, delay notices and destination queues.</param>
    /// <param name="logger">Where deliveries are logged, one line per recipient and attempt.</param>
    /// <param name="timeProvider">The clock for retries; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    /// <param name="notifier">Told about failed, delayed and delivered recipients once their outcome is recorded (the
    /// DSN builder); <c>null</c> for none.</param>
    /// <param name="events">Where each attempt, removal and administrator's action is traced; <c>null</c> for
    /// nowhere.</param>
    /// <param name="metrics">The instruments for delivery attempts and latency; <c>null</c> for none.</param>
    /// <exception cref="ArgumentNullException">The spool, agent, options or logger is <c>null</c>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options are invalid (see
    /// <see cref="QueueSchedulerOptions.Validate"/>).</exception>
    public QueueScheduler(Spool spool, IDeliveryAgent agent, QueueSchedulerOptions options, ILogger<QueueScheduler> logger,
        TimeProvider? timeProvider = null, IDeliveryNotifier? notifier = null, IMessageEvents? events = null,
        PostboteMetrics? metrics = null)
    {
        _events = events ?? NullMessageEvents.Instance;
        _metrics = metrics;
        ArgumentNullException.ThrowIfNull(spool);
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _spool = spool;
        _agent = agent;
        _options = options;
        _logger = logger;
        _notifier = notifier;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The number of messages waiting for a retry timer.</summary>
    public int DeferredCount => _retries.Count;

    /// <summary>The number of messages being delivered now.</summary>
    public int InFlightCount => Volatile.Read(ref _inFlight);

    /// <summary>
    /// Recovers the spool (<see cref="Spool.RecoverAsync"/>) and starts delivering: recovered entries first, then each
    /// new commit as it becomes durable.
    /// </summary>
    /// <param name="cancellationToken">Cancels the recovery scan.</param>
    /// <returns>A task that completes when recovery is done and the delivery loops run.</returns>
    /// <remarks>Start the scheduler before anything can begin a message on the spool (before the SMTP listeners).</remarks>
    /// <exception cref="InvalidOperationException">The scheduler was already started, or a message was already begun on
    /// the spool.</exception>
    /// <exception cref="IOException">The spool directory cannot be read.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("The scheduler is already started.");
        await _spool.RecoverAsync(cancellationToken).ConfigureAwait(false);
        var loops = new Task[_options.MaxConcurrentDeliveries + 1];
        loops[0] = Task.Run(PumpAsync, CancellationToken.None);
        for (int i = 1; i < loops.Length; i++) loops[i] = Task.Run(WorkAsync, CancellationToken.None);
        _running = Task.WhenAll(loops);
    }

    /// <summary>
    /// Stops taking new work, lets in-flight deliveries finish for up to <see cref="QueueSchedulerOptions.ShutdownTimeout"/>,
    /// then cancels them. Whatever is not delivered stays in the spool for the next start.
    /// </summary>
    /// <param name="cancellationToken">Cuts the grace period short: in-flight deliveries are cancelled at once.</param>
    /// <returns>A task that completes when every delivery loop has ended.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested) { await _running.ConfigureAwait(false); return; }
        _stopping.Cancel();
        foreach (KeyValuePair<QueueId, ITimer> retry in _retries)
        {
            if (_retries.TryRemove(retry.Key, out ITimer? timer)) timer.Dispose();
        }
        DisposeDestinationTimers();
        try
        {
            await _running.WaitAsync(_options.ShutdownTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            _logger.LogWarning("Queue stop: cancelling {Count} deliveries still running", InFlightCount);
            _abort.Cancel();
            await _running.ConfigureAwait(false);
        }
    }

    /// <summary>Makes every deferred message due now (<c>postbote queue flush</c>); the same as <see cref="Flush"/>.</summary>
    public void RetryNow() => Flush();

    /// <summary>Stops the scheduler (see <see cref="StopAsync"/>) and releases its resources.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
        _abort.Dispose();
    }

    /// <summary>The retry delay after <paramref name="attempts"/> failed attempts: the retry interval, doubled after
    /// each further failure, at most the maximal retry interval.</summary>
    internal TimeSpan Backoff(int attempts)
    {
        double factor = Math.Pow(2, Math.Clamp(attempts - 1, 0, 30));
        double ticks = Math.Min(_options.RetryInterval.Ticks * factor, _options.MaxRetryInterval.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    private async Task PumpAsync()
    {
        try
        {
            ChannelReader<SpoolEntry> reader = _spool.Committed;
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out SpoolEntry? entry))
                {
                    var message = new QueuedMessage(entry);
                    _messages[entry.Envelope.Id] = message;
                    _work.Writer.TryWrite(message);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        finally
        {
            _work.Writer.TryComplete();
        }
    }

    private async Task WorkAsync()
    {
        ChannelReader<QueuedMessage> reader = _work.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                while (!_stopping.IsCancellationRequested && reader.TryRead(out QueuedMessage? message))
                {
                    Interlocked.Increment(ref _inFlight);
                    try
                    {
                        await DispatchAsync(message).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (_abort.IsCancellationRequested)
                    {
                        // Shutdown: the entry stays in the spool as it was.
                    }
                    catch (Exception e)
                    {
                        _logger.LogError(e, "{QueueId}: delivery failed unexpectedly; the message stays queued", message.Entry.Envelope.Id);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _inFlight);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Starts an attempt for every destination of the message that has due recipients, a free slot and is not backed
    /// off, and waits for them. Recipients whose destination is full wait in its queue; those whose destination is
    /// backed off wait for its retry time.
    /// </summary>
    private async Task DispatchAsync(QueuedMessage message)
    {
        var attempts = new List<Task>();
        DeliveryNotice? unreadNotice = null;
        await message.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (message.Retired) return;
            SpoolEntry entry = message.Entry;
            IReadOnlyList<Recipient> all = entry.Envelope.Recipients;
            if (Spool.IsFinal(entry))
            {
                _ = RetireAsync(message, entry);
                return;
            }
            DateTimeOffset now = _time.GetUtcNow();
            bool force = message.ForceDue;
            message.ForceDue = false;
            bool retry = entry.IsRecovered;
            var due = new List<int>(all.Count);
            for (int i = 0; i < all.Count; i++)
            {
                if (all[i].Status is not (DeliveryStatus.Queued or DeliveryStatus.Deferred) || message.Attempting.Contains(i)) continue;
                if (entry.States[i].Attempts > 0) retry = true;
                // A message recovered at start-up keeps its schedule: a deferred recipient is tried when its next attempt
                // is due, not at once because the server restarted (RFC 5321 §4.5.4.1 wants retries spaced, not bunched).
                if (!force && entry.States[i].NextAttemptAt is { } next && next > now) continue;
                due.Add(i);
            }
            if (due.Count == 0)
            {
                ArmTimer(message);
                return;
            }
            // A body in a file of its own has no other checksum than the one recorded at commit, and a body that waited
            // on disk may have changed there: such a body is set aside, never delivered as if it were the message that
            // was accepted. (A fresh inline body was written from memory a moment ago and is not read back.)
            if ((retry || Spool.HasOwnBodyFile(entry)) && message.Attempting.Count == 0)
            {
                bool intact;
                string? damage;
                try
                {
                    intact = Spool.VerifyBody(entry, out damage);
                }
                catch (IOException e)
                {
                    // Not readable now (no descriptor left, EMFILE): not damage. The due recipients fail temporarily, as
                    // if the agent had said so, and are tried again after the backoff.
                    _logger.LogWarning("{QueueId}: the body cannot be read now, delivery deferred: {Error}", entry.Envelope.Id, e.Message);
                    var unread = new RecipientResult[due.Count];
                    Array.Fill(unread, RecipientResult.Temporary("cannot read the message from the spool: " + e.Message));
                    unreadNotice = await RecordAsync(message, due, unread).ConfigureAwait(false);
                    return;
                }
                if (!intact)
                {
                    message.Retired = true;
                    Forget(message);
                    await _spool.SetAsideAsync(entry, damage!, CancellationToken.None).ConfigureAwait(false);
                    return;
                }
            }
            foreach (var (key, indices) in GroupByDestination(all, due))
            {
                DestinationQueue? destination = null;
                if (key is not null)
                {
                    destination = _destinations.GetOrAdd(key, static (k, c) => new DestinationQueue(k, c), _options.DestinationConcurrency);
                    if (!TryTakeSlot(destination, message, indices, now)) continue;
                }
                message.Attempting.UnionWith(indices);
                attempts.Add(AttemptAsync(message, destination, entry, indices, retry));
            }
            if (attempts.Count == 0) ArmTimer(message);
        }
        finally
        {
            message.Gate.Release();
        }
        if (unreadNotice is not null) await NotifyAsync(unreadNotice).ConfigureAwait(false);
        await Task.WhenAll(attempts).ConfigureAwait(false);
    }

    /// <summary>Splits the due recipients by destination key, in order of first appearance; <c>null</c> is the group of
    /// recipients outside every destination queue. A destination's group holds at most
    /// <see cref="QueueSchedulerOptions.DestinationRecipientLimit"/> recipients; the rest make further groups.</summary>
    private List<(string? Key, List<int> Indices)> GroupByDestination(IReadOnlyList<Recipient> all, List<int> due)
    {
        var groups = new List<(string? Key, List<int> Indices)>(1);
        Func<Mailbox, string?>? destinationOf = _options.Destination;
        int limit = _options.DestinationRecipientLimit;
        foreach (int i in due)
        {
            string? key = destinationOf?.Invoke(all[i].Address);
            int g = groups.FindLastIndex(x => string.Equals(x.Key, key, StringComparison.Ordinal));
            if (g < 0 || (key is not null && groups[g].Indices.Count >= limit)) groups.Add((key, new List<int> { i }));
            else groups[g].Indices.Add(i);
        }
        return groups;
    }

    /// <summary>Arms the message's timer for its earliest scheduled recipient (or clears it when none is scheduled).
    /// Called under the message's gate.</summary>
    private void ArmTimer(QueuedMessage message)
    {
        SpoolEntry entry = message.Entry;
        DateTimeOffset? earliest = null;
        for (int i = 0; i < entry.Envelope.Recipients.Count; i++)
        {
            if (entry.Envelope.Recipients[i].Status is not (DeliveryStatus.Queued or DeliveryStatus.Deferred) || message.Attempting.Contains(i)) continue;
            if (entry.States[i].NextAttemptAt is { } next && (earliest is null || next < earliest)) earliest = next;
        }
        QueueId id = entry.Envelope.Id;
        if (earliest is null)
        {
            if (_retries.TryRemove(id, out ITimer? gone)) gone.Dispose();
            return;
        }
        ScheduleRetry(message, earliest.Value - _time.GetUtcNow());
    }

    private void ScheduleRetry(QueuedMessage message, TimeSpan delay)
    {
        if (_stopping.IsCancellationRequested) return;
        if (delay < TimeSpan.Zero) delay = TimeSpan.Zero;
        QueueId id = message.Entry.Envelope.Id;
        ITimer timer = _time.CreateTimer(static state =>
        {
            var (self, m) = ((QueueScheduler, QueuedMessage))state!;
            if (self._retries.TryRemove(m.Entry.Envelope.Id, out ITimer? t)) t.Dispose();
            if (!self._stopping.IsCancellationRequested) self._work.Writer.TryWrite(m);
        }, (this, message), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (_retries.TryRemove(id, out ITimer? old)) old.Dispose();
        _retries[id] = timer;
        timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// The entry as just saved, with where the spool now keeps its body: a save appends a full copy, and the segment of
    /// the previous copy is deleted once none of its messages is live, so the previous location must not be read again.
    /// </summary>
    private SpoolEntry Relocated(SpoolEntry saved) =>
        _spool.Read(saved.Envelope.Id) is { } now
            ? saved with { BodyPath = now.BodyPath, BodyOffset = now.BodyOffset, BodyChecksum = now.BodyChecksum }
            : saved;

    /// <summary>Drops the message from the in-memory queue (its timer too).</summary>
    private void Forget(QueuedMessage message)
    {
        QueueId id = message.Entry.Envelope.Id;
        _messages.TryRemove(new KeyValuePair<QueueId, QueuedMessage>(id, message));
        if (_retries.TryRemove(id, out ITimer? timer)) timer.Dispose();
    }

    /// <summary>Writes the "done" record (retried by the spool while the disk is full) and only then says "removed".
    /// Called under the message's gate; the message is out of the queue before this first waits.</summary>
    private async Task RetireAsync(QueuedMessage message, SpoolEntry entry)
    {
        message.Retired = true;
        Forget(message);
        try
        {
            await _spool.SaveAsync(entry, CancellationToken.None).ConfigureAwait(false);
            _logger.LogInformation("{QueueId}: removed", entry.Envelope.Id);
            _events.Record(entry.Envelope.Id, new MessageEvent(_time.GetUtcNow(), MessageEventKind.Removed) { Reason = "every recipient final" });
        }
        catch (IOException e)
        {
            _logger.LogWarning("{QueueId}: not retired before the spool closed ({Error}); it is delivered again after the next start, and the agents recognise their copies",
                entry.Envelope.Id, e.Message);
        }
    }
}
