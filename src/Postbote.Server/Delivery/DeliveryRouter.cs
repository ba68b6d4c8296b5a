using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Queue;
using Postbote.Routing;

namespace Postbote.Delivery;

/// <summary>
/// The delivery agent the scheduler calls: carries out the <see cref="Route"/> that <see cref="RecipientRouter"/>
/// decides for each recipient. Local recipients, expanded to their mailboxes (aliases, catch-all, postmaster), are
/// delivered by the local agent (Maildir), one copy per distinct mailbox; unknown local ones fail permanently; remote
/// recipients go to the remote agent (<see cref="Smtp.SmtpDeliveryAgent"/>) in one request, or, without one, are
/// deferred with "relaying not available yet", so they stay queued.
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
    private readonly ILogger<DeliveryRouter> _logger;

    /// <summary>Creates the router.</summary>
    /// <param name="local">The local domains, mailboxes and aliases.</param>
    /// <param name="localAgent">The agent for final local mailboxes, usually <see cref="MaildirDeliveryAgent"/>; it
    /// receives one recipient <c>user@domain</c> per distinct mailbox.</param>
    /// <param name="logger">Where routing decisions are logged.</param>
    /// <param name="remoteAgent">The agent for recipients of other domains, usually <see cref="Smtp.SmtpDeliveryAgent"/>;
    /// <c>null</c> defers them.</param>
    public DeliveryRouter(ILocalRecipients local, IDeliveryAgent localAgent, ILogger<DeliveryRouter> logger, IDeliveryAgent? remoteAgent = null)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(localAgent);
        ArgumentNullException.ThrowIfNull(logger);
        _router = new RecipientRouter(local);
        _localAgent = localAgent;
        _remoteAgent = remoteAgent;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RecipientResult>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        int count = request.Recipients.Count;
        var results = new RecipientResult?[count];
        var mailboxesOf = new List<int>?[count];
        var mailboxes = new List<Recipient>();
        var indexOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var remote = new List<int>();
        for (int i = 0; i < count; i++)
        {
            Recipient recipient = request.Recipients[i];
            Route route = _router.Resolve(recipient.Address);
            switch (route.Kind)
            {
                case RecipientKind.Remote:
                    if (_remoteAgent is null) results[i] = RecipientResult.Temporary("relaying not available yet");
                    else remote.Add(i);
                    continue;
                case RecipientKind.UnknownLocal:
                    results[i] = RecipientResult.Permanent(EnhancedStatusCode.BadDestinationMailbox, "no such mailbox here");
                    continue;
            }
            IReadOnlyList<string> expanded = route.Mailboxes;
            var mine = new List<int>(expanded.Count);
            foreach (string mailbox in expanded)
            {
                if (!indexOf.TryGetValue(mailbox, out int index))
                {
                    index = mailboxes.Count;
                    indexOf[mailbox] = index;
                    int at = mailbox.LastIndexOf('@');
                    mailboxes.Add(new Recipient(new Mailbox(mailbox[..at], mailbox[(at + 1)..]), recipient.Notify,
                        recipient.OriginalRecipient, recipient.Status));
                }
                if (!mine.Contains(index)) mine.Add(index);
            }
            mailboxesOf[i] = mine;
            if (expanded.Count > 1 || expanded[0] != recipient.Address.ToString().ToLowerInvariant())
            {
                _logger.LogDebug("{QueueId}: <{Recipient}> expands to {Mailboxes}", request.Envelope.Id, recipient.Address, string.Join(", ", expanded));
            }
        }

        Task<IReadOnlyList<RecipientResult>?> relayed = remote.Count > 0
            ? RelayAsync(request with { Recipients = remote.Select(i => request.Recipients[i]).ToList() }, cancellationToken)
            : Task.FromResult<IReadOnlyList<RecipientResult>?>(null);
        if (mailboxes.Count > 0)
        {
            IReadOnlyList<RecipientResult>? local;
            try
            {
                local = await _localAgent.DeliverAsync(request with { Recipients = mailboxes }, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "{QueueId}: local delivery failed", request.Envelope.Id);
                local = null;
            }
            for (int i = 0; i < count; i++)
            {
                if (mailboxesOf[i] is not { } mine) continue;
                RecipientResult? delivered = null, temporary = null, permanent = null;
                foreach (int m in mine)
                {
                    RecipientResult r = local is not null && m < local.Count && local[m] is { } x
                        ? x
                        : RecipientResult.Temporary("local delivery failed");
                    switch (r.Outcome)
                    {
                        case DeliveryOutcome.Delivered: delivered ??= r; break;
                        case DeliveryOutcome.TemporaryFailure: temporary ??= r; break;
                        default: permanent ??= r; break;
                    }
                }
                results[i] = temporary ?? permanent ?? delivered;
            }
        }
        IReadOnlyList<RecipientResult>? remoteResults = await relayed.ConfigureAwait(false);
        for (int k = 0; k < remote.Count; k++)
        {
            results[remote[k]] = remoteResults is not null && k < remoteResults.Count && remoteResults[k] is { } r
                ? r
                : RecipientResult.Temporary("relaying failed");
        }
        return results!;
    }

    /// <summary>Hands the remote recipients to the remote agent, in parallel with local delivery; an exception of the
    /// agent other than cancellation counts as a temporary failure of each.</summary>
    private async Task<IReadOnlyList<RecipientResult>?> RelayAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await _remoteAgent!.DeliverAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "{QueueId}: relaying failed", request.Envelope.Id);
            return null;
        }
    }
}
