using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Postbote.Security.Ube;

/// <summary>
/// One <see cref="TokenBucket"/> per key (a client network or a user name): <paramref name="limit"/> events per
/// <paramref name="window"/> each. Memory is bounded: full (idle) buckets are dropped once per window, and at most
/// <paramref name="maxKeys"/> keys are tracked (a key beyond that is let through until room is made).
/// </summary>
/// <param name="limit">Events per window, at least 1.</param>
/// <param name="window">The window.</param>
/// <param name="maxKeys">Most keys tracked at once.</param>
/// <param name="time">The clock.</param>
public sealed class KeyedRateLimiter(int limit, TimeSpan window, int maxKeys, TimeProvider time) : PartitionedRateLimiter<string>
{
    private static readonly RateLimitLease Untracked = new NoLimitLease();
    private readonly ConcurrentDictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);
    private long _sweptAt = time.GetTimestamp();

    /// <summary>The keys tracked now.</summary>
    public int Count => _buckets.Count;

    /// <summary>Drops the buckets that are full again (nothing to remember), at most once per window.</summary>
    private void Sweep()
    {
        long now = time.GetTimestamp();
        long last = Interlocked.Read(ref _sweptAt);
        if (time.GetElapsedTime(last, now) < window && _buckets.Count < maxKeys) return;
        if (Interlocked.CompareExchange(ref _sweptAt, now, last) != last) return;
        foreach (var (key, bucket) in _buckets)
            if (bucket.IsFull) _buckets.TryRemove(key, out _);
    }

    private TokenBucket? Bucket(string key)
    {
        if (_buckets.TryGetValue(key, out TokenBucket? b)) return b;
        Sweep();
        if (_buckets.Count >= maxKeys) return null;
        return _buckets.GetOrAdd(key, _ => new TokenBucket(limit, window, time));
    }

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics(string resource) =>
        _buckets.TryGetValue(resource, out TokenBucket? b) ? b.GetStatistics() : null;

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(string resource, int permitCount)
    {
        ArgumentNullException.ThrowIfNull(resource);
        TokenBucket? b = Bucket(resource);
        return b is null ? Untracked : b.AttemptAcquire(permitCount);
    }

    /// <inheritdoc />
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(string resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    private sealed class NoLimitLease : RateLimitLease
    {
        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
