namespace Postbote.Queue;

/// <summary>
/// The queue's bookkeeping for one recipient beside its <see cref="Postbote.Core.Recipient.Status"/>: how often delivery
/// was tried, when the next try is due and what the last try answered (the "Diagnostic-Code" a DSN reports,
/// RFC 3464 §2.3.6).
/// </summary>
/// <param name="Attempts">The number of delivery attempts made so far.</param>
/// <param name="NextAttemptAt">When the next attempt is due (UTC), or <c>null</c> when due now or final.</param>
/// <param name="LastReply">The reply of the last attempt as text, e.g. <c>451 4.3.0 relaying not available yet</c>, or
/// <c>null</c> before the first attempt.</param>
public readonly record struct RecipientQueueState(int Attempts = 0, DateTimeOffset? NextAttemptAt = null, string? LastReply = null)
{
    /// <summary>The server that gave <see cref="LastReply"/> (<see cref="RecipientResult.RemoteHost"/>), or <c>null</c>.</summary>
    public string? RemoteHost { get; init; }

    /// <summary>When the last attempt ended (UTC), or <c>null</c> before the first; a DSN's Last-Attempt-Date
    /// (RFC 3464 §2.3.7).</summary>
    public DateTimeOffset? LastAttemptAt { get; init; }

    /// <summary>Whether a delay notice ("Action: delayed", RFC 3464 §2.3.3) was already sent for this recipient.</summary>
    public bool DelayNotified { get; init; }

    /// <summary>For a delivered recipient: where it went (<see cref="RecipientResult.Handover"/>).</summary>
    public DeliveryHandover Handover { get; init; }
}
