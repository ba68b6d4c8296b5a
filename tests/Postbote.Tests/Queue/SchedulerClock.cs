namespace Postbote.Tests.Queue;

/// <summary>A clock that moves only when told to, with timers that fire when it passes their time: for retry schedules
/// measured in hours and days without waiting for them.</summary>
public sealed class SchedulerClock : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = new();
    private DateTimeOffset _now = new(2025, 1, 31, 12, 0, 0, TimeSpan.Zero);

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return _now;
    }

    /// <inheritdoc/>
    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    /// <summary>One timestamp unit is one .NET tick (100 ns).</summary>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Timers armed now (not yet fired, not disposed).</summary>
    public int ArmedTimers
    {
        get { lock (_gate) return _timers.Count(t => t.Due is not null); }
    }

    /// <summary>When the earliest armed timer fires, or <c>null</c>.</summary>
    public DateTimeOffset? NextDue
    {
        get { lock (_gate) return _timers.Where(t => t.Due is not null).Select(t => t.Due).Min(); }
    }

    /// <inheritdoc/>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_gate) _timers.Add(timer);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock forward and fires every timer whose time has come, in order of their times.</summary>
    /// <param name="by">How far; not negative.</param>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        DateTimeOffset target;
        lock (_gate) target = _now + by;
        for (int guard = 0; guard < 10_000; guard++)
        {
            ManualTimer? next;
            lock (_gate)
            {
                next = _timers.Where(t => t.Due is not null && t.Due <= target).MinBy(t => t.Due);
                if (next is null)
                {
                    _now = target;
                    return;
                }
                if (next.Due > _now) _now = next.Due!.Value;
                next.Due = null;
            }
            next.Fire();
        }
        throw new InvalidOperationException("Timers keep re-arming themselves at the same time.");
    }

    private sealed class ManualTimer(SchedulerClock clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? Due { get; set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
            }
            return true;
        }

        public void Dispose()
        {
            lock (clock._gate)
            {
                Due = null;
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
