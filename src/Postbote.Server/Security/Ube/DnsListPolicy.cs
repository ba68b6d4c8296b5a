using System.Net;
using Microsoft.Extensions.Logging;
using Postbote.Core;

namespace Postbote.Security.Ube;

/// <summary>
/// DNSBL and DNSWL checks of the client address (RFC 5782), at RCPT as Postfix's <c>reject_rbl_client</c> in
/// <c>smtpd_recipient_restrictions</c>: a client on an allow list (<c>[dnswl]</c>) passes; one on a block list
/// (<c>[dnsbl]</c>) gets <c>554 5.7.1 Service unavailable; client [ip] blocked using zone</c>, followed by the list's
/// TXT reason when it has one, for every recipient but <c>postmaster</c> (RFC 5321 §4.5.1: postmaster "MUST be
/// supported"; a blocked sender can still reach the people who can unblock it). With <c>action = "record"</c> nothing is
/// refused: the listing is logged and each listing zone is added to the message as <c>X-Postbote-DNSBL: zone</c>.
/// Sessions from trusted networks and authenticated sessions are not checked. A DNS failure never refuses.
/// </summary>
public sealed class DnsListPolicy : IInboundPolicy
{
    private static readonly EnhancedStatusCode Blocked = new(5, 7, 1);
    private readonly DnsListOptions _options;
    private readonly DnsListClient _client;
    private readonly ILogger _log;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">The lists and the action.</param>
    /// <param name="client">Asks the lists.</param>
    /// <param name="log">Where listings are logged.</param>
    public DnsListPolicy(DnsListOptions options, DnsListClient client, ILogger log)
    {
        _options = options;
        _client = client;
        _log = log;
    }

    private static IPAddress Client(SessionInfo session) =>
        session.Remote.Address.IsIPv4MappedToIPv6 ? session.Remote.Address.MapToIPv4() : session.Remote.Address;

    /// <summary>Whether the client is on an allow list; logs the first such list.</summary>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <returns><c>true</c> when allow-listed.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<bool> IsAllowListedAsync(SessionInfo session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (_options.AllowLists.Count == 0) return false;
        IReadOnlyList<DnsListing> allowed = await _client.LookupAllAsync(_options.AllowLists, Client(session), cancellationToken).ConfigureAwait(false);
        return allowed.Count > 0;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckRecipientAsync(SessionInfo session, PolicyTransaction transaction, Mailbox recipient,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(recipient);
        if (_options.BlockLists.Count == 0 || _options.Action != DnsListAction.Reject || session.IsOwnClient) return PolicyDecision.Accept;
        if (string.Equals(recipient.UnquotedLocalPart, "postmaster", StringComparison.OrdinalIgnoreCase)) return PolicyDecision.Accept;
        if (await IsAllowListedAsync(session, cancellationToken).ConfigureAwait(false)) return PolicyDecision.Accept;
        IPAddress client = Client(session);
        IReadOnlyList<DnsListing> listed = await _client.LookupAllAsync(_options.BlockLists, client, cancellationToken).ConfigureAwait(false);
        if (listed.Count == 0) return PolicyDecision.Accept;
        DnsListing first = listed[0];
        string text = $"Service unavailable; client [{client}] blocked using {first.List.Zone}";
        if (first.Text is { Length: > 0 } reason) text += "; " + Printable(reason);
        return PolicyDecision.Reject(new SmtpReply(SmtpReplyCode.TransactionFailed, Blocked, text),
            $"client [{client}] listed in DNSBL {first.List.Zone} ({first.Answer})");
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (_options.BlockLists.Count == 0 || _options.Action != DnsListAction.Record || session.IsOwnClient) return PolicyDecision.Accept;
        if (await IsAllowListedAsync(session, cancellationToken).ConfigureAwait(false)) return PolicyDecision.Accept;
        IPAddress client = Client(session);
        IReadOnlyList<DnsListing> listed = await _client.LookupAllAsync(_options.BlockLists, client, cancellationToken).ConfigureAwait(false);
        if (listed.Count == 0) return PolicyDecision.Accept;
        foreach (DnsListing l in listed)
            _log.LogInformation("client [{Client}] listed in DNSBL {Zone} ({Answer}): recorded, not refused", client, l.List.Zone, l.Answer);
        return PolicyDecision.AcceptWith(listed.Select(l => "X-Postbote-DNSBL: " + l.List.Zone).ToList());
    }

    /// <summary>A TXT reason made safe for a reply line: printable ASCII only, at most 200 characters.</summary>
    private static string Printable(string s)
    {
        var chars = s.Take(200).Select(static ch => ch is >= ' ' and <= '~' ? ch : '?').ToArray();
        return new string(chars);
    }
}
