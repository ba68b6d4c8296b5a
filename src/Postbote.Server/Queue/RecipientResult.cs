using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// What a delivery agent reports for one recipient: an outcome and the reply that explains it (the remote server's
/// reply, or a local one). A 4yz or 5yz is data, not an exception (RFC 5321 §4.2.1: 4yz is transient, 5yz permanent).
/// </summary>
/// <param name="Outcome">Delivered, temporary or permanent failure.</param>
/// <param name="Reply">The reply, e.g. <c>250 2.0.0 delivered</c> or <c>451 4.3.0 ...</c>.</param>
public sealed record RecipientResult(DeliveryOutcome Outcome, SmtpReply Reply)
{
    /// <summary>The server that gave <see cref="Reply"/>, as <c>name[address]:port</c> (e.g.
    /// <c>mx1.example.net[192.0.2.1]:25</c>), or <c>null</c> for a local agent. A DSN reports it as Remote-MTA
    /// (RFC 3464 §2.3.5).</summary>
    public string? RemoteHost { get; init; }

    /// <summary>For a delivered recipient: final delivery or a hand-over to a next hop, with or without DSN.</summary>
    public DeliveryHandover Handover { get; init; }

    /// <summary>For a temporary failure: the destination asked to slow down (too many connections, a rate limit; for
    /// SMTP a 421 or a 4.7.x reply saying so). The scheduler then lowers the destination's concurrency and spaces its
    /// next attempts (<see cref="QueueSchedulerOptions.DestinationConcurrency"/>), as Postfix's destination concurrency
    /// feedback does.</summary>
    public bool Throttled { get; init; }

    /// <summary>TLS of the connection that gave the result, protocol and cipher suite (e.g. <c>Tls13
    /// TLS_AES_256_GCM_SHA384</c>); <c>null</c> without TLS or without a connection.</summary>
    public string? Tls { get; init; }

    /// <summary>A delivered result with reply <c>250 2.0.0 <paramref name="text"/></c>.</summary>
    /// <param name="text">The reply text.</param>
    /// <returns>The result.</returns>
    public static RecipientResult Delivered(string text) =>
        new(DeliveryOutcome.Delivered, new SmtpReply(SmtpReplyCode.Ok, EnhancedStatusCode.Success, text));

    /// <summary>A temporary failure with reply <c>451 4.3.0 <paramref name="text"/></c> (RFC 3463 §3.4: mail system
    /// status).</summary>
    /// <param name="text">The reply text.</param>
    /// <returns>The result.</returns>
    public static RecipientResult Temporary(string text) =>
        new(DeliveryOutcome.TemporaryFailure, new SmtpReply(SmtpReplyCode.LocalError, EnhancedStatusCode.TemporarySystemError, text));

    /// <summary>A permanent failure with reply <c>550 <paramref name="status"/> <paramref name="text"/></c>.</summary>
    /// <param name="status">The enhanced status code, e.g. 5.1.1 (RFC 3463 §3.2).</param>
    /// <param name="text">The reply text.</param>
    /// <returns>The result.</returns>
    public static RecipientResult Permanent(EnhancedStatusCode status, string text) =>
        new(DeliveryOutcome.PermanentFailure, new SmtpReply(SmtpReplyCode.MailboxUnavailable, status, text));

    /// <summary>The reply as one line of text without CRLF, as the queue stores it.</summary>
    public string ReplyText => Reply.ToString().TrimEnd('\r', '\n').Replace("\r\n", " ", StringComparison.Ordinal);
}
