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
    // Exact integer arithmetic: credit is counted in timestamp ticks times the limit, so that one event costs one window's
    // ticks and each tick adds the limit; a token comes back after exactly window / limit.
    private readonly int _limit;
    private readonly Int128 _capacity;
    private readonly Int128 _cost;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private Int128 _credit;
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
        _cost = (Int128)(window.Ticks * (double)time.TimestampFrequency / TimeSpan.TicksPerSecond);
        _capacity = _cost * limit;
        _credit = _capacity;
        _refilledAt = time.GetTimestamp();
    }

    private Int128 Tokens => _credit / _cost;

    private void Refill()
    {
        long now = _time.GetTimestamp();
        Int128 credit = _credit + (Int128)(now - _refilledAt) * _limit;
        _credit = credit > _capacity ? _capacity : credit;
        _refilledAt = now;
    }

    /// <summary>Whether the bucket is full, i.e. forgetting it changes nothing.</summary>
    public bool IsFull
    {
        get { lock (_lock) { Refill(); return _credit >= _capacity; } }
    }

    /// <inheritdoc />
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_lock)
            {
                Refill();
                return _credit >= _capacity ? TimeSpan.Zero : null;
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
                CurrentAvailablePermits = (long)Tokens,
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
            Int128 needed = _cost * permitCount;
            if (_credit >= needed)
            {
                _credit -= needed;
                _granted++;
                return Granted;
            }
            _failed++;
            long ticks = (long)((needed - _credit + _limit - 1) / _limit);
            return new Lease(false, TimeSpan.FromSeconds(Math.Ceiling(ticks / (double)_time.TimestampFrequency)));
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
