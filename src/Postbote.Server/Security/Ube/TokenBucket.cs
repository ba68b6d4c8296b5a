using System.Threading.RateLimiting;

namespace Postbote.Security.Ube;

/// <summary>
/// A token bucket of <c>limit</c> tokens refilled evenly over <c>window</c> (so at most <c>limit</c> at once, and
/// <c>limit</c> per window in the long run), computed from an injected <see cref="TimeProvider"/> at each acquisition.
/// The replenishing limiters of System.Threading.RateLimiting refill from <see cref="System.Diagnostics.Stopwatch"/>
/// on a timer and take no clock (dotnet/runtime#106447), which a test cannot move; this one is a
/// <see cref="RateLimiter"/> of the same library that can be. Thread-safe.
/// </summary>
internal sealed class TokenBucket : RateLimiter
{
    private static readonly RateLimitLease Granted = new Lease(true, null);
    private readonly int _limit;
    private readonly double _perTick;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private double _tokens;
    private long _refilledAt;
    private long _failed;
    private long _granted;

    /// <summary>Creates a full bucket.</summary>
    /// <param name="limit">Tokens, at least 1.</param>
    /// <param name="window">The time in which all tokens come back.</param>
    /// <param name="time">The clock.</param>
    public TokenBucket(int limit, TimeSpan window, TimeProvider time)
    {
        _limit = limit;
        _time = time;
        _perTick = limit / (window.TotalSeconds * time.TimestampFrequency);
        _tokens = limit;
        _refilledAt = time.GetTimestamp();
    }

    private void Refill()
    {
        long now = _time.GetTimestamp();
        _tokens = Math.Min(_limit, _tokens + (now - _refilledAt) * _perTick);
        _refilledAt = now;
    }

    /// <summary>Whether the bucket is full, i.e. forgetting it changes nothing.</summary>
    public bool IsFull
    {
        get { lock (_lock) { Refill(); return _tokens >= _limit; } }
    }

    /// <inheritdoc />
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_lock)
            {
                Refill();
                return _tokens >= _limit ? TimeSpan.Zero : null;
            }
        }
    }

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_lock)
        {
            Refill();
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = (long)_tokens,
                TotalFailedLeases = _failed,
                TotalSuccessfulLeases = _granted,
            };
        }
    }

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        lock (_lock)
        {
            Refill();
            if (_tokens >= permitCount)
            {
                _tokens -= permitCount;
                _granted++;
                return Granted;
            }
            _failed++;
            double ticks = (permitCount - _tokens) / _perTick;
            return new Lease(false, TimeSpan.FromSeconds(Math.Ceiling(ticks / _time.TimestampFrequency)));
        }
    }

    /// <inheritdoc />
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
