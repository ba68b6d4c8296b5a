using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// The queue manager: takes committed and recovered messages from the <see cref="Spool"/>, hands them to an
/// <see cref="IDeliveryAgent"/> with bounded concurrency, records each recipient's outcome in the spool, and retries
/// temporarily failed recipients with a doubling backoff (RFC 5321 §4.5.4.1: "mail that cannot be transmitted
/// immediately MUST be queued and periodically retried by the sender").
/// </summary>
/// <remarks>
/// Several deliveries run at once (<see cref="QueueSchedulerOptions.MaxConcurrentDeliveries"/>), so the agents' syncs
/// share rounds. Retry timers are kept in memory, and each deferred recipient's next attempt time is stored in the
/// spool: after a restart a recovered message is tried when its earliest pending recipient is due (at once when that
/// time has passed while the server was down). Stopping leaves undelivered entries in the spool.
/// </remarks>
public sealed class QueueScheduler : IAsyncDisposable
{
    private readonly Spool _spool;
    private readonly IDeliveryAgent _agent;
    private readonly QueueSchedulerOptions _options;
    private readonly ILogger<QueueScheduler> _logger;
    private readonly TimeProvider _time;
    private readonly Channel<SpoolEntry> _work =
        Channel.CreateUnbounded<SpoolEntry>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly ConcurrentDictionary<QueueId, ITimer> _retries = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private Task _running = Task.CompletedTask;
    private int _started;
    private int _inFlight;

    /// <summary>Creates the scheduler; <see cref="StartAsync"/> starts it.</summary>
    /// <param name="spool">The spool to read committed messages from and to record outcomes in.</param>
    /// <param name="agent">The delivery agent, usually the router.</param>
    /// <param name="options">Concurrency and retry schedule.</param>
    /// <param name="logger">Where deliveries are logged, one line per recipient and attempt.</param>
    /// <param name="timeProvider">The clock for retries; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The options are invalid (see
    /// <see cref="QueueSchedulerOptions.Validate"/>).</exception>
    public QueueScheduler(Spool spool, IDeliveryAgent agent, QueueSchedulerOptions options, ILogger<QueueScheduler> logger,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(spool);
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _spool = spool;
        _agent = agent;
        _options = options;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The number of messages waiting for a retry timer.</summary>
    public int DeferredCount => _retries.Count;

    /// <summary>The number of deliveries running now.</summary>
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

    /// <summary>Makes every deferred message due now (<c>postbote queue flush</c>).</summary>
    public void RetryNow()
    {
        foreach (KeyValuePair<QueueId, ITimer> retry in _retries) retry.Value.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

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
                while (reader.TryRead(out SpoolEntry? entry)) _work.Writer.TryWrite(entry);
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
        ChannelReader<SpoolEntry> reader = _work.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                while (!_stopping.IsCancellationRequested && reader.TryRead(out SpoolEntry? entry))
                {
                    Interlocked.Increment(ref _inFlight);
                    try
                    {
                        await ProcessAsync(entry).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (_abort.IsCancellationRequested)
                    {
                        // Shutdown: the entry stays in the spool as it was.
                    }
                    catch (Exception e)
                    {
                        _logger.LogError(e, "{QueueId}: delivery failed unexpectedly; the message stays queued", entry.Envelope.Id);
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

    private async Task ProcessAsync(SpoolEntry entry)
    {
        Envelope envelope = entry.Envelope;
        IReadOnlyList<Recipient> all = envelope.Recipients;
        var indices = new List<int>(all.Count);
        bool retry = entry.IsRecovered;
        for (int i = 0; i < all.Count; i++)
        {
            if (all[i].Status is DeliveryStatus.Queued or DeliveryStatus.Deferred)
            {
                indices.Add(i);
                if (entry.States[i].Attempts > 0) retry = true;
            }
        }
        if (indices.Count == 0)
        {
            _ = RetireAsync(entry);
            return;
        }
        // A message recovered at start-up keeps its schedule: a deferred recipient is tried when its next attempt is
        // due, not at once because the server restarted (RFC 5321 §4.5.4.1 wants retries spaced, at least 30 minutes
        // apart by default, not bunched).
        if (entry.IsRecovered && EarliestDue(entry, indices) is { } scheduled && scheduled > _time.GetUtcNow())
        {
            ScheduleRetry(entry, scheduled - _time.GetUtcNow());
            return;
        }
        // A body in a file of its own has no other checksum than the one recorded at commit, and a body that waited on
        // disk may have changed there: such a body is set aside, never delivered as if it were the message that was
        // accepted. (A fresh inline body was written from memory a moment ago and is not read back.)
        if ((retry || Spool.HasOwnBodyFile(entry)) && !Spool.VerifyBody(entry, out string? damage))
        {
            await _spool.SetAsideAsync(entry, damage!, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        var attempt = new Recipient[indices.Count];
        for (int k = 0; k < attempt.Length; k++) attempt[k] = all[indices[k]];
        var request = new DeliveryRequest(envelope, entry.BodyPath, attempt, retry) { BodyOffset = entry.BodyOffset };
        IReadOnlyList<RecipientResult>? results;
        try
        {
            results = await _agent.DeliverAsync(request, _abort.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "{QueueId}: the delivery agent failed; every recipient of the attempt is deferred", envelope.Id);
            results = null;
        }

        DateTimeOffset now = _time.GetUtcNow();
        var recipients = all.ToArray();
        var states = entry.States.ToArray();
        DateTimeOffset? nextRetry = null;
        for (int k = 0; k < attempt.Length; k++)
        {
            int i = indices[k];
            RecipientResult result = results is not null && k < results.Count && results[k] is { } r
                ? r
                : RecipientResult.Temporary(results is null ? "delivery agent error" : "no result from the delivery agent");
            int attempts = states[i].Attempts + 1;
            string reply = result.ReplyText;
            switch (result.Outcome)
            {
                case DeliveryOutcome.Delivered:
                    recipients[i] = recipients[i] with { Status = DeliveryStatus.Delivered };
                    states[i] = new RecipientQueueState(attempts, null, reply);
                    _logger.LogInformation("{QueueId}: to=<{Recipient}>, status=sent ({Reply})", envelope.Id, recipients[i].Address, reply);
                    break;
                case DeliveryOutcome.PermanentFailure:
                    recipients[i] = recipients[i] with { Status = DeliveryStatus.Failed };
                    states[i] = new RecipientQueueState(attempts, null, reply);
                    _logger.LogInformation("{QueueId}: to=<{Recipient}>, status=bounced ({Reply})", envelope.Id, recipients[i].Address, reply);
                    break;
                default:
                    DateTimeOffset next = now + Backoff(attempts);
                    recipients[i] = recipients[i] with { Status = DeliveryStatus.Deferred };
                    states[i] = new RecipientQueueState(attempts, next, reply);
                    if (nextRetry is null || next < nextRetry) nextRetry = next;
                    _logger.LogInformation("{QueueId}: to=<{Recipient}>, status=deferred ({Reply})", envelope.Id, recipients[i].Address, reply);
                    break;
            }
        }

        var updated = entry with { Envelope = envelope with { Recipients = recipients }, States = states };
        if (Spool.IsFinal(updated))
        {
            _ = RetireAsync(updated);
            return;
        }
        try
        {
            await _spool.SaveAsync(updated, CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            // The previous envelope stays; the retry below (or the next start) repeats the attempt, and the agents
            // recognise copies they already delivered.
            _logger.LogError(e, "{QueueId}: cannot record the delivery state", envelope.Id);
            nextRetry ??= now + Backoff(1);
        }
        if (nextRetry is { } due) ScheduleRetry(updated, due - now);
    }

    /// <summary>When the earliest of the given recipients is due: <c>null</c> when one of them is due now (no next
    /// attempt recorded).</summary>
    private static DateTimeOffset? EarliestDue(SpoolEntry entry, List<int> pending)
    {
        DateTimeOffset? earliest = null;
        foreach (int i in pending)
        {
            if (entry.States[i].NextAttemptAt is not { } next) return null;
            if (earliest is null || next < earliest) earliest = next;
        }
        return earliest;
    }

    /// <summary>Writes the "done" record (retried by the spool while the disk is full) and only then says "removed".</summary>
    private async Task RetireAsync(SpoolEntry entry)
    {
        try
        {
            await _spool.SaveAsync(entry, CancellationToken.None).ConfigureAwait(false);
            _logger.LogInformation("{QueueId}: removed", entry.Envelope.Id);
        }
        catch (IOException e)
        {
            _logger.LogWarning("{QueueId}: not retired before the spool closed ({Error}); it is delivered again after the next start, and the agents recognise their copies",
                entry.Envelope.Id, e.Message);
        }
    }

    private void ScheduleRetry(SpoolEntry entry, TimeSpan delay)
    {
        if (_stopping.IsCancellationRequested) return;
        if (delay < TimeSpan.Zero) delay = TimeSpan.Zero;
        QueueId id = entry.Envelope.Id;
        ITimer timer = _time.CreateTimer(static state =>
        {
            var (self, e) = ((QueueScheduler, SpoolEntry))state!;
            if (self._retries.TryRemove(e.Envelope.Id, out ITimer? t)) t.Dispose();
            if (!self._stopping.IsCancellationRequested) self._work.Writer.TryWrite(e);
        }, (this, entry), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (_retries.TryGetValue(id, out ITimer? old))
        {
            _retries.TryRemove(id, out _);
            old.Dispose();
        }
        _retries[id] = timer;
        timer.Change(delay, Timeout.InfiniteTimeSpan);
    }
}
