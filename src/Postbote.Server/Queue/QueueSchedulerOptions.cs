using Postbote.Core;

namespace Postbote.Queue;

/// <summary>The limits of the queue scheduler: concurrency, retry schedule, message lifetime, delay notices,
/// per-destination queues and shutdown grace (the <c>[queue]</c> table, docs/configuration.md).</summary>
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

    /// <summary>The longest delay between two retries (<c>[queue] max_retry_interval</c>). Default: 3,600 seconds, so
    /// the schedule is 300, 600, 1200, 2400, 3600, 3600 … seconds (Postfix's <c>maximal_backoff_time</c> is 4,000).</summary>
    public TimeSpan MaxRetryInterval { get; set; } = TimeSpan.FromSeconds(3600);

    /// <summary>How long a message may stay queued (<c>[queue] max_lifetime</c>), counted from when it was received: a
    /// recipient that is still temporarily failing after that fails for good, keeping its last reply. Default: 432,000
    /// seconds (5 days), as Postfix's <c>maximal_queue_lifetime</c>; RFC 5321 §4.5.4.1: "the give-up time generally
    /// needs to be at least 4-5 days".</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromDays(5);

    /// <summary>How old a message must be before a recipient still deferred gets one delay notice
    /// (<c>[queue] delay_warning_time</c>; RFC 3464 §2.3.3 "delayed"). Default: 14,400 seconds (4 hours), as Postfix's
    /// <c>delay_warning_time</c> when set; <see cref="TimeSpan.Zero"/> sends none.</summary>
    public TimeSpan DelayWarningTime { get; set; } = TimeSpan.FromHours(4);

    /// <summary>How many deliveries may run at once to one destination (<c>[queue] destination_concurrency</c>).
    /// Default: 20, as Postfix's <c>default_destination_concurrency_limit</c>. Recipients without a destination
    /// (<see cref="Destination"/> gives <c>null</c>, local delivery) are not limited by it.</summary>
    public int DestinationConcurrency { get; set; } = 20;

    /// <summary>After how many consecutive attempts to one destination in which every recipient failed temporarily the
    /// destination counts as dead and is backed off as a whole: its other messages wait for the destination's retry
    /// time (<see cref="RetryInterval"/>, doubling with each further failed probe up to <see cref="MaxRetryInterval"/>)
    /// instead of each trying on its own. Default: 5. Any attempt that is not all temporary failures brings it back.</summary>
    public int DeadDestinationAfter { get; set; } = 5;

    /// <summary>How many messages per minute may be started to one destination (<c>[queue] destination_rate_limit</c>):
    /// deliveries to it start at least 60 / n seconds apart. Default: 0, no limit. (Postfix's
    /// <c>default_destination_rate_delay</c> gives the same as a delay between deliveries.)</summary>
    public int DestinationRateLimit { get; set; }

    /// <summary>The most recipients of one message in one delivery to one destination
    /// (<c>[queue] destination_recipient_limit</c>); more are split into several deliveries, each taking a slot of the
    /// destination. Default: 50, as Postfix's <c>default_destination_recipient_limit</c>.</summary>
    public int DestinationRecipientLimit { get; set; } = 50;

    /// <summary>The first spacing of a destination that asked to slow down (a <see cref="RecipientResult.Throttled"/>
    /// result): its next delivery starts no sooner, and its throttled recipients are tried again then. Doubled with each
    /// further throttling reply, halved with each delivery that gets through, at most <see cref="RetryInterval"/> (never
    /// later than an ordinary retry). Default: 1 second.</summary>
    public TimeSpan ThrottleDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Which destination queue a recipient belongs to: the router's key (a domain, a transport, a smarthost),
    /// which the scheduler only compares; <c>null</c> for a recipient outside every destination queue (local delivery:
    /// no concurrency limit and no back-off as a whole). When this is <c>null</c> no recipient has a destination.</summary>
    public Func<Mailbox, string?>? Destination { get; set; }

    /// <summary>How long <see cref="QueueScheduler.StopAsync(CancellationToken)"/> lets in-flight deliveries finish before cancelling them.
    /// Default: 30 seconds.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Checks the options at start-up.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count or interval is zero or negative (the delay warning time may
    /// be zero), or the maximal retry interval is shorter than the first one.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentDeliveries, 1, nameof(MaxConcurrentDeliveries));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryInterval, TimeSpan.Zero, nameof(RetryInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetryInterval, RetryInterval, nameof(MaxRetryInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MaxLifetime, TimeSpan.Zero, nameof(MaxLifetime));
        ArgumentOutOfRangeException.ThrowIfLessThan(DelayWarningTime, TimeSpan.Zero, nameof(DelayWarningTime));
        ArgumentOutOfRangeException.ThrowIfLessThan(DestinationConcurrency, 1, nameof(DestinationConcurrency));
        ArgumentOutOfRangeException.ThrowIfLessThan(DeadDestinationAfter, 1, nameof(DeadDestinationAfter));
        ArgumentOutOfRangeException.ThrowIfLessThan(DestinationRateLimit, 0, nameof(DestinationRateLimit));
        ArgumentOutOfRangeException.ThrowIfLessThan(DestinationRecipientLimit, 1, nameof(DestinationRecipientLimit));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ThrottleDelay, TimeSpan.Zero, nameof(ThrottleDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(ShutdownTimeout, TimeSpan.Zero, nameof(ShutdownTimeout));
    }
}
