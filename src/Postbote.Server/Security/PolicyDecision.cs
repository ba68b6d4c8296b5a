using Postbote.Core;

namespace Postbote.Security;

/// <summary>
/// The decision of one policy stage: accept, or refuse with a reply for the client. The client-visible reply and the
/// internal reason (for the log) are kept apart.
/// </summary>
/// <param name="Verdict">Accept, reject or defer.</param>
/// <param name="Reply">The reply to send when refusing; <c>null</c> when accepting.</param>
/// <param name="Reason">Why, for the log; never sent to the client.</param>
public sealed record PolicyDecision(PolicyVerdict Verdict, SmtpReply? Reply = null, string? Reason = null)
{
    /// <summary>The decision to go on.</summary>
    public static readonly PolicyDecision Accept = new(PolicyVerdict.Accept);

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
}
