using Postbote.Core;

namespace Postbote.Security;

/// <summary>
/// The staged policy an SMTP session consults: connect, HELO/EHLO, MAIL, RCPT and the end of data. Each stage returns a
/// <see cref="PolicyDecision"/>, never a bool; the session turns a refusal into its reply. Policies form a chain
/// (<see cref="PolicyChain"/>) configured in order. A stage a policy does not care about accepts by default.
/// </summary>
/// <remarks>Every stage gets the connection's cancellation token: it is cancelled when the connection is aborted (client
/// gone, shutdown, a deadline), so a DNS query or a store lookup for a session that no longer exists stops.</remarks>
public interface IInboundPolicy
{
    /// <summary>Decides whether to serve a new connection (before the greeting).</summary>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <returns>The decision; a refusal is sent instead of the greeting and the connection is closed.</returns>
    ValueTask<PolicyDecision> CheckConnectAsync(SessionInfo session, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyDecision.Accept);

    /// <summary>Decides on the name given in HELO or EHLO (RFC 5321 §4.1.1.1), before the reply.</summary>
    /// <param name="session">The session (its <see cref="SessionInfo.HeloName"/> is not yet set).</param>
    /// <param name="heloName">The domain or address literal the client gave.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <returns>The decision; a refusal is the reply to HELO/EHLO and the session stays without a name.</returns>
    ValueTask<PolicyDecision> CheckHeloAsync(SessionInfo session, string heloName, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyDecision.Accept);

    /// <summary>Decides on the reverse-path of MAIL (RFC 5321 §4.1.1.2).</summary>
    /// <param name="session">The session.</param>
    /// <param name="transaction">The transaction MAIL begins: its reverse-path; results recorded here (an SPF check)
    /// stay with it up to the end of data.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <returns>The decision.</returns>
    ValueTask<PolicyDecision> CheckMailAsync(SessionInfo session, PolicyTransaction transaction, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyDecision.Accept);

    /// <summary>Decides on one forward-path of RCPT (RFC 5321 §4.1.1.3): local, unknown, or relay.</summary>
    /// <param name="session">The session.</param>
    /// <param name="transaction">The transaction.</param>
    /// <param name="recipient">The forward-path.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <returns>The decision.</returns>
    ValueTask<PolicyDecision> CheckRecipientAsync(SessionInfo session, PolicyTransaction transaction, Mailbox recipient,
        CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyDecision.Accept);

    /// <summary>Decides on a received message before it is committed (RFC 5321 §4.1.1.4: the reply to the end of data):
    /// the whole message can be read through <see cref="InboundMessage.OpenRead"/>. An accepting decision may carry header
    /// fields to add (<see cref="PolicyDecision.AddHeaders"/>) and ask for quarantine.</summary>
    /// <param name="session">The session.</param>
    /// <param name="message">The message: transaction, recipients, header section, the data as received.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <returns>The decision; a refusal discards the message.</returns>
    ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyDecision.Accept);
}
