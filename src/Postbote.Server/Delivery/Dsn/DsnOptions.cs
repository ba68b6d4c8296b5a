namespace Postbote.Delivery.Dsn;

/// <summary>
/// What the delivery status notifications (RFC 3464) say about this server and how much of the original they carry back.
/// Set by the composition root from the configuration (<c>hostname</c>, the queue's message lifetime).
/// </summary>
public sealed class DsnOptions
{
    /// <summary>The name of this server: the <c>Reporting-MTA: dns; &lt;name&gt;</c> of every notice (RFC 3464 §2.2.2)
    /// and the domain of its sender <c>MAILER-DAEMON@&lt;name&gt;</c>. Default: <c>localhost</c>.</summary>
    public string HostName { get; set; } = "localhost";

    /// <summary>The largest original, in bytes, that a failure notice returns whole as <c>message/rfc822</c>; a larger one
    /// is returned as its header section only (<c>text/rfc822-headers</c>). Default: 102,400 bytes (100 KiB), as Exim's
    /// <c>bounce_return_size_limit</c>; it keeps a bounce of a large attachment from travelling back to the sender
    /// whole.</summary>
    public long MaxReturnedMessageSize { get; set; } = 100 * 1024;

    /// <summary>The most of the original's header section, in bytes, that a notice returns; a longer header section is
    /// cut after its last complete line within the limit. Default: 65,536 bytes (64 KiB).</summary>
    public int MaxReturnedHeaderSize { get; set; } = 64 * 1024;

    /// <summary>How long the queue keeps trying a message from its arrival: a delay notice gives arrival plus this as its
    /// <c>Will-Retry-Until</c> (RFC 3464 §2.3.8). Default: 5 days, as Postfix's <c>maximal_queue_lifetime</c>.</summary>
    public TimeSpan MessageLifetime { get; set; } = TimeSpan.FromDays(5);

    /// <summary>Checks the options at start-up.</summary>
    /// <exception cref="ArgumentException">The host name is empty or blank.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or the lifetime is zero or negative.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(HostName, nameof(HostName));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxReturnedMessageSize, nameof(MaxReturnedMessageSize));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxReturnedHeaderSize, nameof(MaxReturnedHeaderSize));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MessageLifetime, TimeSpan.Zero, nameof(MessageLifetime));
    }
}
