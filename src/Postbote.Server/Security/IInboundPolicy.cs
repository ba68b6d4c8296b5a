using Postbote.Core;

namespace Postbote.Security;

/// <summary>
/// The staged policy an SMTP session consults (connect, HELO/EHLO, MAIL, RCPT). Each stage returns a
/// <see cref="PolicyDecision"/>, never a bool; the session turns a refusal into its reply.
/// </summary>
public interface IInboundPolicy
{
    /// <summary>Decides whether to serve a new connection (before the greeting).</summary>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The decision; a refusal is sent instead of the greeting and the connection is closed.</returns>
    ValueTask<PolicyDecision> CheckConnectAsync(SessionInfo session, CancellationToken cancellationToken);

    /// <summary>Decides on the reverse-path of MAIL (RFC 5321 §4.1.1.2).</summary>
    /// <param name="session">The session.</param>
    /// <param name="reversePath">The reverse-path, <c>null</c> for <c>&lt;&gt;</c>.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The decision.</returns>
    ValueTask<PolicyDecision> CheckMailAsync(SessionInfo session, Mailbox? reversePath, CancellationToken cancellationToken);

    /// <summary>Decides on one forward-path of RCPT (RFC 5321 §4.1.1.3): local, unknown, or relay.</summary>
    /// <param name="session">The session.</param>
    /// <param name="reversePath">The transaction's reverse-path, <c>null</c> for <c>&lt;&gt;</c>.</param>
    /// <param name="recipient">The forward-path.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The decision.</returns>
    ValueTask<PolicyDecision> CheckRecipientAsync(SessionInfo session, Mailbox? reversePath, Mailbox recipient,
        CancellationToken cancellationToken);

    /// <summary>Decides on a received message of an authenticated session before it is committed (the From: header
    /// binding of submission, RFC 6409 §8.1).</summary>
    /// <param name="session">The session.</param>
    /// <param name="reversePath">The reverse-path, <c>null</c> for <c>&lt;&gt;</c>.</param>
    /// <param name="headerSection">The message's header section as received (at most 64 KiB), up to the empty line.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The decision; a refusal discards the message.</returns>
    ValueTask<PolicyDecision> CheckMessageAsync(SessionInfo session, Mailbox? reversePath, ReadOnlyMemory<byte> headerSection,
        CancellationToken cancellationToken);
}
