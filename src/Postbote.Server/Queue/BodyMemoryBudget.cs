namespace Postbote.Queue;

/// <summary>
/// The memory that message bodies being received may hold in all, across every session: each <see cref="SpoolWriter"/>
/// reserves its buffer here before it grows it, and a writer that finds the budget used up streams its body to the
/// message's own file instead (as every body over <see cref="Spool.InlineLimit"/> does anyway). So many slow senders
/// holding unfinished messages cost at most <see cref="Limit"/> bytes of body buffers, not 256 KiB each. Thread-safe.
/// </summary>
public sealed class BodyMemoryBudget
{
    private long _inUse;
    private long _peak;

    /// <summary>Creates a budget.</summary>
    /// <param name="limit">The most bytes of body buffers held at once; 0 sends every body to a file of its own.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    public BodyMemoryBudget(long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Limit = limit;
    }

    /// <summary>The most bytes of body buffers held at once.</summary>
    public long Limit { get; }

    /// <summary>The bytes of body buffers held now.</summary>
    public long InUse => Interlocked.Read(ref _inUse);

    /// <summary>The most bytes ever held at once since the budget was created (never above <see cref="Limit"/>).</summary>
    public long Peak => Interlocked.Read(ref _peak);

    /// <summary>Reserves <paramref name="bytes"/> if they fit.</summary>
    /// <param name="bytes">The bytes a buffer is about to hold; not negative.</param>
    /// <returns><c>true</c> when reserved (give them back with <see cref="Release"/>); <c>false</c> when the budget would
    /// be exceeded, and nothing was reserved.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is negative.</exception>
    public bool TryReserve(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long current = Interlocked.Read(ref _inUse);
        while (true)
        {
            long wanted = current + bytes;
            if (wanted > Limit) return false;
            long seen = Interlocked.CompareExchange(ref _inUse, wanted, current);
            if (seen == current)
            {
                long peak = Interlocked.Read(ref _peak);
                while (wanted > peak)
                {
                    long before = Interlocked.CompareExchange(ref _peak, wanted, peak);
                    if (before == peak) break;
                    peak = before;
                }
                return true;
            }
            current = seen;
        }
    }

    /// <summary>Gives back bytes reserved with <see cref="TryReserve"/>.</summary>
    /// <param name="bytes">The bytes reserved earlier; not negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is negative.</exception>
    public void Release(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Interlocked.Add(ref _inUse, -bytes);
    }
}
