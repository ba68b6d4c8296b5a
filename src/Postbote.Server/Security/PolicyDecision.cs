using Postbote.Core;

namespace Postbote.Security;

/// <summary>
/// The decision of one policy stage: accept, or refuse with a reply for the client. The client-visible reply and the
/// internal reason (for the log) are kept apart. At the end of data an accepting decision may carry header fields to
/// add to the message and ask for quarantine.
/// </summary>
/// <param name="Verdict">Accept, reject or defer.</param>
/// <param name="Reply">The reply to send when refusing; <c>null</c> when accepting.</param>
/// <param name="Reason">Why, for the log; never sent to the client.</param>
public sealed record PolicyDecision(PolicyVerdict Verdict, SmtpReply? Reply = null, string? Reason = null)
{
    /// <summary>The decision to go on.</summary>
    public static readonly PolicyDecision Accept = new(PolicyVerdict.Accept);

    /// <summary>Header fields to add at the top of the message (end-of-data stage only), each a whole field
    /// <c>Name: value</c> without the final CRLF (folded lines inside are separated by CRLF and white space, RFC 5322
    /// §2.2.3); <c>null</c> for none. Added in the order of the chain, each policy's in its own order.</summary>
    public IReadOnlyList<string>? AddHeaders { get; init; }

    /// <summary>Whether the message is to be filed as junk instead of the inbox (end-of-data stage only): DMARC
    /// <c>p=quarantine</c> (RFC 7489 §6.3).</summary>
    public bool Quarantine { get; init; }

    /// <summary>Creates a permanent refusal.</summary>
    /// <param name="reply">The 5xx reply.</param>
    /// <param name="reason">Why, for the log.</param>
    /// <returns>The decision.</returns>
    public static PolicyDecision Reject(SmtpReply reply, string reason) => new(PolicyVerdict.Reject, reply, reason);

    /// <summary>Creates a temporary refusal.</summary>
    /// <param name="reply">The 4xx reply.</param>
    /// <param name="reason">Why, for the log.</param>
    /// <returns>The decision.</returns>
    public static PolicyDecision Defer(SmtpReply reply, string reason) => new(PolicyVerdict.Defer, reply, reason);

    /// <summary>Creates an acceptance that adds header fields and may ask for quarantine (end-of-data stage).</summary>
    /// <param name="headers">The header fields, each <c>Name: value</c> without the final CRLF.</param>
    /// <param name="quarantine">Whether to file the message as junk.</param>
    /// <param name="reason">Why, for the log (the quarantine's reason), or <c>null</c>.</param>
    /// <returns>The decision.</returns>
    public static PolicyDecision AcceptWith(IReadOnlyList<string>? headers, bool quarantine = false, string? reason = null) =>
        new(PolicyVerdict.Accept, null, reason) { AddHeaders = headers, Quarantine = quarantine };
}
