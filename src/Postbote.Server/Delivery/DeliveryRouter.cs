using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Queue;
using Postbote.Routing;

namespace Postbote.Delivery;

/// <summary>
/// The delivery agent the scheduler calls: carries out the <see cref="Route"/> that <see cref="RecipientRouter"/>
/// decides for each recipient. Local recipients, expanded to their mailboxes (aliases, catch-all, postmaster), are
/// delivered by the local agent (Maildir), one copy per distinct mailbox, unless their domain has a transport of its own
/// (<c>[relay.transports]</c>, e.g. LMTP to Dovecot); unknown local ones fail permanently; remote recipients, alias
/// targets in other domains (forwarding) and mailboxes with a transport go to the remote agent
/// (<see cref="Smtp.SmtpDeliveryAgent"/>) in one request, or, without one, are deferred with "relaying not available".
/// </summary>
/// <remarks>
/// A recipient that expands to several mailboxes is delivered when every copy is; any temporary failure defers it (the
/// retry recognises the copies already delivered), otherwise any permanent failure fails it.
/// </remarks>
public sealed class DeliveryRouter : IDeliveryAgent
{
    private readonly RecipientRouter _router;
    private readonly IDeliveryAgent _localAgent;
    private readonly IDeliveryAgent? _remoteAgent;
    private readonly ILocalRecipients _local;
    private readonly TransportTable _transports;
    private readonly ILogger<DeliveryRouter> _logger;

    /// <summary>Creates the router.</summary>
    /// <param name="local">The local domains, mailboxes and aliases.</param>
    /// <param name="localAgent">The agent for final local mailboxes, usually <see cref="MaildirDeliveryAgent"/>; it
    /// receives one recipient <c>user@domain</c> per distinct mailbox.</param>
    /// <param name="logger">Where routing decisions are logged.</param>
    /// <param name="remoteAgent">The agent for recipients of other domains, usually <see cref="Smtp.SmtpDeliveryAgent"/>;
    /// <c>null</c> defers them.</param>
    /// <param name="transports">Fixed next hops per domain (<c>[relay.transports]</c>): mailboxes of a local domain found
    /// here go to <paramref name="remoteAgent"/> (e.g. LMTP to Dovecot) instead of <paramref name="localAgent"/>.</param>
    public DeliveryRouter(ILocalRecipients local, IDeliveryAgent localAgent, ILogger<DeliveryRouter> logger, IDeliveryAgent? remoteAgent = null,
        TransportTable? transports = null)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(localAgent);
        ArgumentNullException.ThrowIfNull(logger);
        _router = new RecipientRouter(local);
        _localAgent = localAgent;
        _remoteAgent = remoteAgent;
        _local = local;
        _transports = transports ?? TransportTable.Empty;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RecipientResult>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        int count = request.Recipients.Count;
        var results = new RecipientResult?[count];
        // Each recipient becomes one or more targets (an alias expands); a target goes to the local agent (a Maildir of a
        // local domain) or to the remote agent (another domain, an alias target in another domain, or a local domain
        // with a transport of its own such as LMTP to Dovecot). Equal targets are delivered once.
        var targetsOf = new List<int>?[count];
        var local = new Targets();
        var remote = new Targets();
        for (int i = 0; i < count; i++)
        {
            Recipient recipient = request.Recipients[i];
            Route route = _router.Resolve(recipient.Address);
            switch (route.Kind)
            {
                case RecipientKind.Remote:
                    targetsOf[i] = [~remote.Add(recipient.Address.ToString(), recipient, recipient.Address)];
                    continue;
                case RecipientKind.UnknownLocal:
                    results[i] = RecipientResult.Permanent(EnhancedStatusCode.BadDestinationMailbox, "no such mailbox here");
                    continue;
            }
            IReadOnlyList<string> expanded = route.Mailboxes;
            var mine = new List<int>(expanded.Count);
            foreach (string mailbox in expanded)
            {
                int at = mailbox.LastIndexOf('@');
                var address = new Mailbox(mailbox[..at], mailbox[(at + 1)..]);
                bool elsewhere = _local.Classify(address) == RecipientKind.Remote || _transports.Find(address.Domain) is not null;
                int target = (elsewhere ? remote : local).Add(mailbox, recipient, address);
                mine.Add(elsewhere ? ~target : target);
            }
            targetsOf[i] = mine;
            if (expanded.Count > 1 || expanded[0] != recipient.Address.ToString().ToLowerInvariant())
            {
                _logger.LogDebug("{QueueId}: <{Recipient}> expands to {Mailboxes}", request.Envelope.Id, recipient.Address, string.Join(", ", expanded));
            }
        }

        Task<IReadOnlyList<RecipientResult>?> relayed = remote.Recipients.Count == 0
            ? Task.FromResult<IReadOnlyList<RecipientResult>?>(null)
            : _remoteAgent is null
                ? Task.FromResult<IReadOnlyList<RecipientResult>?>(remote.Recipients.Select(_ => RecipientResult.Temporary("relaying not available")).ToList())
                : RunAsync(_remoteAgent, "relaying", request with { Recipients = remote.Recipients }, cancellationToken);
        IReadOnlyList<RecipientResult>? localResults = local.Recipients.Count == 0 ? null
            : await RunAsync(_localAgent, "local delivery", request with { Recipients = local.Recipients }, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<RecipientResult>? remoteResults = await relayed.ConfigureAwait(false);

        for (int i = 0; i < count; i++)
        {
            if (targetsOf[i] is not { } mine) continue;
            RecipientResult? delivered = null, temporary = null, permanent = null;
            foreach (int t in mine)
            {
                // A remote target is stored as the complement of its index in the remote list (see above).
                RecipientResult r = t >= 0
                    ? localResults is not null && t < localResults.Count && localResults[t] is { } x ? x : RecipientResult.Temporary("local delivery failed")
                    : remoteResults is not null && ~t < remoteResults.Count && remoteResults[~t] is { } y ? y : RecipientResult.Temporary("relaying failed");
                switch (r.Outcome)
                {
                    case DeliveryOutcome.Delivered: delivered ??= r; break;
                    case DeliveryOutcome.TemporaryFailure: temporary ??= r; break;
                    default: permanent ??= r; break;
                }
            }
            results[i] = temporary ?? permanent ?? delivered;
        }
        return results!;
    }

    /// <summary>The distinct targets for one agent, in the order first seen.</summary>
    private sealed class Targets
    {
        private readonly Dictionary<string, int> _indexOf = new(StringComparer.Ordinal);

        public List<Recipient> Recipients { get; } = [];

        /// <summary>The index of the target <paramref name="key"/>, added with the DSN parameters of the recipient it
        /// comes from when new.</summary>
        public int Add(string key, Recipient origin, Mailbox address)
        {
            if (_indexOf.TryGetValue(key, out int index)) return index;
            index = Recipients.Count;
            _indexOf[key] = index;
            Recipients.Add(origin with { Address = address });
            return index;
        }
    }

    /// <summary>Runs one agent; an exception other than cancellation counts as a temporary failure of each of its
    /// recipients.</summary>
    private async Task<IReadOnlyList<RecipientResult>?> RunAsync(IDeliveryAgent agent, string what, DeliveryRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await agent.DeliverAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "{QueueId}: {What} failed", request.Envelope.Id, what);
            return null;
        }
    }
}
