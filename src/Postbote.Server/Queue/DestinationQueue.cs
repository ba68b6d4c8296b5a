namespace Postbote.Queue;

/// <summary>
/// One destination's share of the queue (Postfix's per-destination queue in qmgr): how many deliveries to it run, the
/// messages waiting for a free slot, whether it is backed off as a whole after repeated temporary failures, and its
/// concurrency window and spacing after it asked to slow down. Every member is guarded by a lock on the instance.
/// </summary>
internal sealed class DestinationQueue(string key, int concurrency)
{
    /// <summary>The router's key, e.g. a domain.</summary>
    public string Key { get; } = key;

    /// <summary>How many deliveries may run at once now: the configured concurrency, halved (down to 1) each time the
    /// destination asks to slow down, and grown back by one per delivery that gets through (Postfix's destination
    /// concurrency feedback).</summary>
    public int Window { get; set; } = concurrency;

    /// <summary>The least time between two delivery starts to this destination: zero, or the throttle spacing (doubled
    /// per throttling reply, halved per success), or the rate limit's interval.</summary>
    public TimeSpan Spacing { get; set; }

    /// <summary>No delivery to this destination starts before this time (UTC); <see cref="DateTimeOffset.MinValue"/>
    /// when any may start now.</summary>
    public DateTimeOffset NotBefore { get; set; } = DateTimeOffset.MinValue;

    /// <summary>When the last delivery to this destination started (UTC).</summary>
    public DateTimeOffset LastStart { get; set; } = DateTimeOffset.MinValue;

    /// <summary>Wakes the waiting messages at <see cref="NotBefore"/>; created at the first use.</summary>
    public ITimer? Timer { get; set; }

    /// <summary>When <see cref="Timer"/> is due, or <see cref="DateTimeOffset.MaxValue"/> when it is not armed.</summary>
    public DateTimeOffset TimerDue { get; set; } = DateTimeOffset.MaxValue;

    /// <summary>Deliveries to this destination running now.</summary>
    public int Active { get; set; }

    /// <summary>Consecutive attempts in which every recipient failed temporarily.</summary>
    public int ConsecutiveFailures { get; set; }

    /// <summary>Until when the destination is backed off as a whole (UTC); <see cref="DateTimeOffset.MinValue"/> when
    /// it is not.</summary>
    public DateTimeOffset DeadUntil { get; set; } = DateTimeOffset.MinValue;

    /// <summary>Messages with recipients due for this destination that found every slot taken, in arrival order.</summary>
    public Queue<QueuedMessage> Waiting { get; } = new();

    /// <summary>The same messages, so that one is queued only once.</summary>
    public HashSet<QueuedMessage> WaitingSet { get; } = new();
}
