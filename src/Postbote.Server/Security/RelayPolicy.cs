using Postbote.Core;
using Postbote.Delivery;

namespace Postbote.Security;

/// <summary>
/// The default inbound policy: mail for local domains is accepted for known mailboxes and refused with
/// <c>550 5.1.1</c> for unknown ones (at RCPT time, so nothing is bounced later: no backscatter); mail for other domains
/// is relayed only for trusted networks and authenticated clients and otherwise refused with <c>554 5.7.1 Relay access
/// denied</c>. Postbote is never an open relay.
/// </summary>
public sealed class RelayPolicy : IInboundPolicy
{
    private readonly ILocalRecipients _recipients;

    /// <summary>Creates the policy.</summary>
    /// <param name="recipients">The local domains, mailboxes and aliases.</param>
    public RelayPolicy(ILocalRecipients recipients) => _recipients = recipients;

    /// <inheritdoc />
    public ValueTask<PolicyDecision> CheckConnectAsync(SessionInfo session, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyDecision.Accept);

    /// <inheritdoc />
    public ValueTask<PolicyDecision> CheckMailAsync(SessionInfo session, Mailbox? reversePath, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyDecision.Accept);

    /// <inheritdoc />
    public ValueTask<PolicyDecision> CheckRecipientAsync(SessionInfo session, Mailbox? reversePath, Mailbox recipient,
        CancellationToken cancellationToken)
    {
        PolicyDecision decision = _recipients.Classify(recipient) switch
        {
            RecipientKind.Local => PolicyDecision.Accept,
            RecipientKind.UnknownLocal => PolicyDecision.Reject(
                new SmtpReply(SmtpReplyCode.MailboxUnavailable, EnhancedStatusCode.BadDestinationMailbox,
                    $"<{recipient}>: Recipient address rejected: User unknown in local recipient table"),
                "unknown local recipient"),
            _ when session.IsTrustedNetwork || session.AuthenticatedUser is not null => PolicyDecision.Accept,
            _ => PolicyDecision.Reject(
                new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.NotAuthorized,
                    $"<{recipient}>: Relay access denied"),
                "relay denied: client neither trusted nor authenticated"),
        };
        return ValueTask.FromResult(decision);
    }
}
