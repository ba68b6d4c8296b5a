using MimeKit;
using Postbote.Core;
using Postbote.Routing;
using Postbote.Security.Users;

namespace Postbote.Security;

/// <summary>
/// The default inbound policy: mail for local domains is accepted for known mailboxes and refused with
/// <c>550 5.1.1</c> for unknown ones (at RCPT time, so nothing is bounced later: no backscatter); mail for other domains
/// is relayed only for trusted networks and authenticated clients and otherwise refused with <c>554 5.7.1 Relay access
/// denied</c>. Postbote is never an open relay. An authenticated user may use as reverse-path and in From: only the
/// addresses they own: their user name, the addresses listed for them, and the local aliases that deliver to them
/// (RFC 6409 §8.1); anything else gets <c>553 5.7.1</c>, unless the user may send as anyone. With SMTP-after-POP
/// (<see cref="ISmtpAfterPop"/>) a client address that logged in to POP3 recently may relay too.
/// </summary>
public sealed class RelayPolicy : IInboundPolicy
{
    private readonly ILocalRecipients _recipients;
    private readonly IUserStore? _users;
    private readonly ISmtpAfterPop? _smtpAfterPop;

    /// <summary>Creates the policy.</summary>
    /// <param name="recipients">The local domains, mailboxes and aliases.</param>
    /// <param name="users">The user store for sender binding, or <c>null</c> when there is no AUTH.</param>
    /// <param name="smtpAfterPop">The SMTP-after-POP window, or <c>null</c> when it is off.</param>
    public RelayPolicy(ILocalRecipients recipients, IUserStore? users = null, ISmtpAfterPop? smtpAfterPop = null)
    {
        _recipients = recipients;
        _users = users;
        _smtpAfterPop = smtpAfterPop;
    }

    /// <summary>Whether <paramref name="user"/> may use <paramref name="address"/> as sender.</summary>
    /// <param name="user">The user record.</param>
    /// <param name="address">An address <c>local@domain</c>.</param>
    /// <returns><c>true</c> when owned: the user's name or listed address, or a local alias expanding to the user.</returns>
    public bool Owns(UserRecord user, string address)
    {
        if (user.MaySendAs(address)) return true;
        int at = address.LastIndexOf('@');
        if (at <= 0) return false;
        var mailbox = new Mailbox(address[..at], address[(at + 1)..]);
        if (_recipients.Classify(mailbox) != RecipientKind.Local) return false;
        foreach (string target in _recipients.Expand(mailbox))
            if (string.Equals(target, user.Name, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private async ValueTask<UserRecord?> UserAsync(SessionInfo session, CancellationToken cancellationToken) =>
        session.AuthenticatedUser is null || _users is null ? null : await _users.FindAsync(session.AuthenticatedUser, cancellationToken).ConfigureAwait(false);

    private static PolicyDecision NotOwned(string address, string user) => PolicyDecision.Reject(
        new SmtpReply(SmtpReplyCode.MailboxNameNotAllowed, EnhancedStatusCode.NotAuthorized, $"<{address}>: Sender address rejected: not owned by user {user}"),
        $"sender {address} not owned by {user}");

    /// <inheritdoc />
    public ValueTask<PolicyDecision> CheckConnectAsync(SessionInfo session, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyDecision.Accept);

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckMailAsync(SessionInfo session, PolicyTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        Mailbox? reversePath = transaction.ReversePath;
        UserRecord? user = await UserAsync(session, cancellationToken).ConfigureAwait(false);
        if (user is null || user.AnySender) return PolicyDecision.Accept;
        // RFC 5321 §4.5.5: the null reverse-path is for notifications a mail system sends (DSNs, and MDNs); it carries no
        // sender to bind to the user, and the From: check cannot make up for it (a bounce's From: is MAILER-DAEMON). A user
        // bound to addresses may not use it; one allowed any sender may.
        if (reversePath is null)
        {
            return PolicyDecision.Reject(
                new SmtpReply(SmtpReplyCode.MailboxNameNotAllowed, EnhancedStatusCode.NotAuthorized,
                    $"<>: Sender address rejected: the null reverse-path is for mail system notifications, not for user {user.Name}"),
                $"null reverse-path from {user.Name}");
        }
        string address = reversePath.ToString();
        return Owns(user, address) ? PolicyDecision.Accept : NotOwned(address, user.Name);
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ReadOnlyMemory<byte> headerSection = message.HeaderSection;
        UserRecord? user = await UserAsync(session, cancellationToken).ConfigureAwait(false);
        if (user is null || user.AnySender) return PolicyDecision.Accept;
        HeaderList headers;
        try
        {
            using var stream = new MemoryStream(headerSection.ToArray(), writable: false);
            headers = HeaderList.Load(stream, cancellationToken);
        }
        catch (FormatException)
        {
            return PolicyDecision.Reject(new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.MediaError, "Error: malformed message header"), "header section does not parse");
        }
        string? from = headers[HeaderId.From];
        if (from is null || !InternetAddressList.TryParse(from, out InternetAddressList? list)) return PolicyDecision.Accept;
        foreach (MailboxAddress m in list.Mailboxes)
            if (!Owns(user, m.Address)) return NotOwned(m.Address, user.Name);
        return PolicyDecision.Accept;
    }

    /// <inheritdoc />
    public ValueTask<PolicyDecision> CheckRecipientAsync(SessionInfo session, PolicyTransaction transaction, Mailbox recipient,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        Mailbox? reversePath = transaction.ReversePath;
        // Routing inside the local part ("user%foreign@local", "foreign!user@local", "\"user@foreign\"@local") is how
        // open relays were abused; Postbote never routes on it, and refuses it as the relay attempt it is.
        string local = recipient.UnquotedLocalPart;
        if (!recipient.IsDomainlessPostmaster && (local.Contains('%') || local.Contains('!') || local.Contains('@')))
        {
            return ValueTask.FromResult(PolicyDecision.Reject(
                new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.NotAuthorized, $"<{recipient}>: Relay access denied"),
                "routing characters in the local part"));
        }
        PolicyDecision decision = _recipients.Classify(recipient) switch
        {
            RecipientKind.Local => PolicyDecision.Accept,
            RecipientKind.UnknownLocal => PolicyDecision.Reject(
                new SmtpReply(SmtpReplyCode.MailboxUnavailable, EnhancedStatusCode.BadDestinationMailbox,
                    $"<{recipient}>: Recipient address rejected: User unknown in local recipient table"),
                "unknown local recipient"),
            _ when session.IsOwnClient => PolicyDecision.Accept,
            _ when _smtpAfterPop?.MayRelay(session.Remote.Address) == true => PolicyDecision.Accept,
            _ => PolicyDecision.Reject(
                new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.NotAuthorized,
                    $"<{recipient}>: Relay access denied"),
                _smtpAfterPop is null ? "relay denied: client neither trusted nor authenticated"
                    : "relay denied: client neither trusted nor authenticated, and no POP3 login from it within smtp_after_pop"),
        };
        return ValueTask.FromResult(decision);
    }
}
