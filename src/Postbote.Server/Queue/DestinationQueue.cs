namespace Postbote.Queue;

/// <summary>
/// One destination's share of the queue (Postfix's per-destination queue in qmgr): how many deliveries to it run, the
/// messages waiting for a free slot, and whether it is backed off as a whole after repeated temporary failures. Every
/// member is guarded by a lock on the instance.
/// </summary>
internal sealed class DestinationQueue(string key)
{
    /// <summary>The router's key, e.g. a domain.</summary>
    public string Key { get; } = key;

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
