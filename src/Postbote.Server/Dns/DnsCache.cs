namespace Postbote.Dns;

/// <summary>
/// The resolver's answer cache: positive and negative answers (RFC 2308 §5) keyed by name and record type, each kept for
/// its TTL as measured by a <see cref="TimeProvider"/>, at most a fixed number of entries, the least recently used
/// dropped first. Thread-safe.
/// </summary>
internal sealed class DnsCache
{
    private readonly record struct Key(string Name, int Type);

    private sealed record Entry(Key Key, object Result, long ExpiresAt);

    private readonly Dictionary<Key, LinkedListNode<Entry>> entries = [];
    private readonly LinkedList<Entry> recency = new();
    private readonly TimeProvider time;
    private readonly int capacity;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="capacity">The most entries kept; 0 keeps nothing.</param>
    /// <param name="time">The clock TTLs are measured on.</param>
    public DnsCache(int capacity, TimeProvider time)
    {
        this.capacity = capacity;
        this.time = time;
    }

    /// <summary>How many entries are held, expired ones included until they are met.</summary>
    public int Count
    {
        get
        {
            lock (entries) return entries.Count;
        }
    }

    /// <summary>Finds an answer that has not expired.</summary>
    /// <param name="name">The query name.</param>
    /// <param name="type">The record type number (RFC 1035 §3.2.2).</param>
    /// <param name="result">The cached result.</param>
    /// <param name="remaining">Its time left.</param>
    /// <returns>Whether one was found.</returns>
    public bool TryGet(string name, int type, out object? result, out TimeSpan remaining)
    {
        var key = new Key(name, type);
        long now = time.GetTimestamp();
        lock (entries)
        {
            if (entries.TryGetValue(key, out LinkedListNode<Entry>? node))
            {
                if (node.Value.ExpiresAt > now)
                {
                    recency.Remove(node);
                    recency.AddFirst(node);
                    result = node.Value.Result;
                    remaining = time.GetElapsedTime(now, node.Value.ExpiresAt);
                    return true;
                }
                entries.Remove(key);
                recency.Remove(node);
            }
        }
        result = null;
        remaining = TimeSpan.Zero;
        return false;
    }

    /// <summary>Keeps an answer for <paramref name="timeToLive"/>; a zero or negative TTL keeps nothing (RFC 1035 §3.2.1:
    /// "Zero values are interpreted to mean that the RR can only be used for the transaction in progress, and should
    /// not be cached.").</summary>
    /// <param name="name">The query name.</param>
    /// <param name="type">The record type number.</param>
    /// <param name="result">The result to keep.</param>
    /// <param name="timeToLive">How long.</param>
    public void Set(string name, int type, object result, TimeSpan timeToLive)
    {
        if (capacity == 0 || timeToLive <= TimeSpan.Zero) return;
        var key = new Key(name, type);
        long expiresAt = time.GetTimestamp() + (long)(timeToLive.TotalSeconds * time.TimestampFrequency);
        lock (entries)
        {
            if (entries.Remove(key, out LinkedListNode<Entry>? old)) recency.Remove(old);
            entries[key] = recency.AddFirst(new Entry(key, result, expiresAt));
            while (entries.Count > capacity)
            {
                LinkedListNode<Entry> last = recency.Last!;
                recency.RemoveLast();
                entries.Remove(last.Value.Key);
            }
        }
    }
}
