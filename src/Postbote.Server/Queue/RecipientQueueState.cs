using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// The queue's bookkeeping for one recipient beside its <see cref="Postbote.Core.Recipient.Status"/>: how often delivery
/// was tried, when the next try is due and what the last try answered (the "Diagnostic-Code" a DSN reports,
/// RFC 3464 §2.3.6).
/// </summary>
/// <param name="Attempts">The number of delivery attempts made so far.</param>
/// <param name="NextAttemptAt">When the next attempt is due (UTC), or <c>null</c> when due now or final.</param>
/// <param name="LastReply">The reply of the last attempt as one line of text, e.g. <c>550 5.1.1 no such user</c>, or
/// <c>null</c> before the first attempt. Set together with its parts by <see cref="WithReply"/>.</param>
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

    /// <summary>The reply code of the last attempt (RFC 5321 §4.2, 200–559), e.g. 550; <c>null</c> before the first attempt
    /// or for a state read from a version 1 record whose reply text did not start with a code.</summary>
    public int? LastReplyCode { get; init; }

    /// <summary>The enhanced status code of the last reply (RFC 3463), e.g. 5.1.1, the DSN's "Status" (RFC 3464
    /// §2.3.4); <c>null</c> when the reply had none.</summary>
    public EnhancedStatusCode? LastReplyStatus { get; init; }

    /// <summary>The text of the last reply without code and enhanced code, its lines joined with a space, e.g.
    /// <c>no such user</c>; <c>null</c> before the first attempt.</summary>
    public string? LastReplyText { get; init; }

    /// <summary>A copy whose last reply is <paramref name="reply"/>: <see cref="LastReply"/> as one line and its parts in
    /// <see cref="LastReplyCode"/>, <see cref="LastReplyStatus"/> and <see cref="LastReplyText"/>.</summary>
    /// <param name="reply">The reply of the attempt.</param>
    /// <returns>The new state.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reply"/> is <c>null</c>.</exception>
    public RecipientQueueState WithReply(SmtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        string text = string.Join(' ', reply.Lines);
        return this with
        {
            LastReply = OneLine((int)reply.Code, reply.Status, text),
            LastReplyCode = (int)reply.Code,
            LastReplyStatus = reply.Status,
            LastReplyText = text,
        };
    }

    /// <summary>The one-line form of a reply: <c>code [enhanced-code] text</c>.</summary>
    internal static string OneLine(int code, EnhancedStatusCode? status, string text) =>
        status is { } s ? $"{code} {s} {text}" : $"{code} {text}";
}
