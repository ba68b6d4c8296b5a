namespace Postbote.Queue;

/// <summary>The limits of the queue scheduler: concurrency, retry schedule and shutdown grace.</summary>
public sealed class QueueSchedulerOptions
{
    /// <summary>How many messages are delivered at the same time. Default: 64. Local deliveries spend most of their time
    /// waiting for a shared sync round, so many in flight make each round (one syncfs for the data, one for the renames)
    /// serve many messages.</summary>
    public int MaxConcurrentDeliveries { get; set; } = 64;

    /// <summary>The delay before the first retry of a temporarily failed recipient; it doubles after each further
    /// failure. Default: 300 seconds, as Postfix's <c>minimal_backoff_time</c>. RFC 5321 §4.5.4.1 says "the retry interval
    /// SHOULD be at least 30 minutes"; like Postfix, the first retries come sooner and the doubling passes 30 minutes
    /// after the third.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>The longest delay between two retries. Default: 4 hours (14,400 seconds), as Postfix's
    /// <c>maximal_backoff_time</c>.</summary>
    public TimeSpan MaxRetryInterval { get; set; } = TimeSpan.FromHours(4);

    /// <summary>How long <see cref="QueueScheduler.StopAsync(CancellationToken)"/> lets in-flight deliveries finish before cancelling them.
    /// Default: 30 seconds.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Checks the options at start-up.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is zero or negative, or the maximal retry interval is
    /// shorter than the first one.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentDeliveries, 1, nameof(MaxConcurrentDeliveries));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryInterval, TimeSpan.Zero, nameof(RetryInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetryInterval, RetryInterval, nameof(MaxRetryInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(ShutdownTimeout, TimeSpan.Zero, nameof(ShutdownTimeout));
    }
}
