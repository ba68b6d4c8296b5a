using Microsoft.Extensions.Logging;

namespace Postbote.Queue;

public sealed partial class QueueScheduler
{
    /// <summary>Takes a delivery slot of the destination for the message, or queues the message behind the destination
    /// (every slot of its window taken, or its next start not yet due) or moves the recipients' next attempt to the
    /// destination's retry time (backed off).</summary>
    private bool TryTakeSlot(DestinationQueue destination, QueuedMessage message, List<int> indices, DateTimeOffset now)
    {
        lock (destination)
        {
            // A message past its lifetime still gets its last attempt, so that it fails in time, back-off or not.
            bool expired = now - message.Entry.Envelope.ReceivedAt >= _options.MaxLifetime;
            if (destination.DeadUntil > now && !expired)
            {
                // Postfix's "dead destination": its other messages wait for its retry time instead of each trying.
                var states = message.Entry.States.ToArray();
                foreach (int i in indices) states[i] = states[i] with { NextAttemptAt = destination.DeadUntil };
                message.Entry = message.Entry with { States = states };
                _logger.LogDebug("{QueueId}: destination {Destination} is backed off until {Until:O}", message.Entry.Envelope.Id, destination.Key, destination.DeadUntil);
                return false;
            }
            if (destination.Active >= Limit(destination) || (destination.NotBefore > now && !expired))
            {
                if (destination.WaitingSet.Add(message)) destination.Waiting.Enqueue(message);
                if (destination.NotBefore > now) ArmDestinationTimer(destination);
                return false;
            }
            destination.Active++;
            destination.LastStart = now;
            // The next start waits for the throttle spacing or the rate limit's interval, whichever is longer.
            TimeSpan gap = Gap(destination);
            if (gap > TimeSpan.Zero)
            {
                destination.NotBefore = now + gap;
                if (destination.Waiting.Count > 0) ArmDestinationTimer(destination);
            }
            return true;
        }
    }

    /// <summary>The deliveries that may run at once to the destination now: one while a backed-off destination is
    /// probed, else its window. Called under the destination's lock.</summary>
    private int Limit(DestinationQueue destination) =>
        destination.ConsecutiveFailures >= _options.DeadDestinationAfter ? 1 : destination.Window;

    /// <summary>The least time between two starts: the throttle spacing or the rate limit's interval (60 s / n).</summary>
    private TimeSpan Gap(DestinationQueue destination)
    {
        TimeSpan rate = _options.DestinationRateLimit > 0 ? TimeSpan.FromMinutes(1) / _options.DestinationRateLimit : TimeSpan.Zero;
        return destination.Spacing > rate ? destination.Spacing : rate;
    }

    /// <summary>Gives a destination slot back and hands the free slots to waiting messages.</summary>
    private void ReleaseSlot(DestinationQueue destination)
    {
        lock (destination)
        {
            destination.Active--;
        }
        Pump(destination);
    }

    /// <summary>Hands the destination's free slots to waiting messages (skipping those deleted or put on hold meanwhile,
    /// which would not use them): none before its next start is due (the timer comes back then), one at a time while
    /// starts are spaced. When the destination is backed off, every waiting message is woken, to take the destination's
    /// retry time as its own.</summary>
    private void Pump(DestinationQueue destination)
    {
        List<QueuedMessage>? wake = null;
        lock (destination)
        {
            DateTimeOffset now = _time.GetUtcNow();
            bool dead = destination.DeadUntil > now;
            int free = Limit(destination) - destination.Active;
            if (!dead && destination.NotBefore > now)
            {
                free = 0;
                if (destination.Waiting.Count > 0) ArmDestinationTimer(destination);
            }
            else if (!dead && Gap(destination) > TimeSpan.Zero)
            {
                free = Math.Min(free, 1);
            }
            while ((dead || (wake?.Count ?? 0) < free) && destination.Waiting.TryDequeue(out QueuedMessage? candidate))
            {
                destination.WaitingSet.Remove(candidate);
                if (candidate.Retired || candidate.HoldRequested) continue;
                (wake ??= new List<QueuedMessage>()).Add(candidate);
            }
        }
        if (wake is null || _stopping.IsCancellationRequested) return;
        foreach (QueuedMessage next in wake) _work.Writer.TryWrite(next);
    }

    /// <summary>Arms the destination's timer for its next start, unless it is armed for that time or earlier. Called under
    /// the destination's lock.</summary>
    private void ArmDestinationTimer(DestinationQueue destination)
    {
        if (_stopping.IsCancellationRequested) return;
        DateTimeOffset due = destination.NotBefore;
        DateTimeOffset now = _time.GetUtcNow();
        if (destination.TimerDue <= due && destination.TimerDue > now) return;
        destination.Timer ??= _time.CreateTimer(static state =>
        {
            var (self, d) = ((QueueScheduler, DestinationQueue))state!;
            lock (d) d.TimerDue = DateTimeOffset.MaxValue;
            if (!self._stopping.IsCancellationRequested) self.Pump(d);
        }, (this, destination), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        destination.TimerDue = due;
        TimeSpan delay = due - now;
        destination.Timer.Change(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Counts an attempt for its destination and feeds its outcome back. All recipients temporarily failed, or not: after
    /// <see cref="QueueSchedulerOptions.DeadDestinationAfter"/> such attempts in a row the destination is backed off as a
    /// whole; a throttled attempt is not counted either way (the destination answers, and its spacing backs it off). A throttling reply (<see cref="RecipientResult.Throttled"/>) halves the destination's window (down to 1)
    /// and doubles its spacing (from <see cref="QueueSchedulerOptions.ThrottleDelay"/>, at most the retry interval); a
    /// delivery that gets through widens the window by one (up to the configured concurrency) and halves the spacing.
    /// </summary>
    /// <returns>For a throttled attempt, when the destination may be tried again (its throttled recipients' next
    /// attempt); otherwise <c>null</c>.</returns>
    private DateTimeOffset? CountDestinationOutcome(DestinationQueue destination, RecipientResult[] outcomes)
    {
        bool allTemporary = outcomes.All(static r => r.Outcome == DeliveryOutcome.TemporaryFailure);
        bool throttled = outcomes.Any(static r => r.Throttled);
        bool delivered = outcomes.Any(static r => r.Outcome == DeliveryOutcome.Delivered);
        DateTimeOffset? until = null;
        lock (destination)
        {
            DateTimeOffset now = _time.GetUtcNow();
            if (throttled)
            {
                int before = destination.Window;
                destination.Window = Math.Max(1, destination.Window / 2);
                TimeSpan spacing = destination.Spacing == TimeSpan.Zero ? _options.ThrottleDelay : destination.Spacing * 2;
                destination.Spacing = spacing > _options.RetryInterval ? _options.RetryInterval : spacing;
                if (destination.NotBefore < now + destination.Spacing) destination.NotBefore = now + destination.Spacing;
                until = destination.NotBefore;
                _logger.LogWarning("Destination {Destination} asks to slow down ({Reply}): concurrency {Before} -> {After}, next start not before {Until:O} ({Spacing} s apart)",
                    destination.Key, outcomes.First(static r => r.Throttled).ReplyText, before, destination.Window, destination.NotBefore,
                    destination.Spacing.TotalSeconds);
            }
            else if (delivered)
            {
                if (destination.Window < _options.DestinationConcurrency) destination.Window++;
                TimeSpan half = destination.Spacing / 2;
                destination.Spacing = half < _options.ThrottleDelay ? TimeSpan.Zero : half;
                // The shorter spacing counts from the last start.
                if (destination.LastStart != DateTimeOffset.MinValue && destination.NotBefore > destination.LastStart + Gap(destination))
                    destination.NotBefore = destination.LastStart + Gap(destination);
            }
            // A destination that asks to slow down is alive: its spacing backs it off, not the dead-destination count.
            if (throttled) return until;
            if (!allTemporary)
            {
                if (destination.DeadUntil != DateTimeOffset.MinValue)
                {
                    _logger.LogInformation("Destination {Destination} answers again; no longer backed off", destination.Key);
                }
                destination.ConsecutiveFailures = 0;
                destination.DeadUntil = DateTimeOffset.MinValue;
                return until;
            }
            destination.ConsecutiveFailures++;
            int beyond = destination.ConsecutiveFailures - _options.DeadDestinationAfter;
            if (beyond < 0) return until;
            destination.DeadUntil = _time.GetUtcNow() + Backoff(beyond + 1);
            _logger.LogWarning("Destination {Destination} backed off until {Until:O} after {Count} attempts in a row that all failed temporarily ({Reply})",
                destination.Key, destination.DeadUntil, destination.ConsecutiveFailures, outcomes[0].ReplyText);
            return until;
        }
    }

    /// <summary>Stops the destinations' timers (at shutdown).</summary>
    private void DisposeDestinationTimers()
    {
        foreach (DestinationQueue destination in _destinations.Values)
        {
            lock (destination)
            {
                destination.Timer?.Dispose();
                destination.Timer = null;
                destination.TimerDue = DateTimeOffset.MaxValue;
            }
        }
    }
}
