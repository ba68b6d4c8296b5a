using System.Collections.Concurrent;

namespace Postbote.Net;

/// <summary>
/// One timer for all connection timeouts: every <see cref="Interval"/> it calls each registered
/// <see cref="ITimeoutTarget"/>, which compares its own deadline with the time. Reads and writes then need no timer or
/// <see cref="CancellationTokenSource"/> of their own.
/// </summary>
public sealed class Heartbeat : IDisposable
{
    /// <summary>Time between ticks: 1 second.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<ITimeoutTarget, byte> _targets = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;

    /// <summary>Creates and starts the heartbeat.</summary>
    /// <param name="time">The clock.</param>
    public Heartbeat(TimeProvider time)
    {
        _time = time;
        _timer = time.CreateTimer(static s => ((Heartbeat)s!).Tick(), this, Interval, Interval);
    }

    /// <summary>Registers a target until <see cref="Remove"/>.</summary>
    /// <param name="target">The target.</param>
    public void Add(ITimeoutTarget target) => _targets.TryAdd(target, 0);

    /// <summary>Unregisters a target.</summary>
    /// <param name="target">The target.</param>
    public void Remove(ITimeoutTarget target) => _targets.TryRemove(target, out _);

    private void Tick()
    {
        long now = _time.GetTimestamp();
        foreach (var t in _targets.Keys) t.OnHeartbeat(now);
    }

    /// <summary>Stops the timer.</summary>
    public void Dispose() => _timer.Dispose();
}
