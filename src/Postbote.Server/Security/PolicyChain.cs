using Postbote.Core;

namespace Postbote.Security;

/// <summary>
/// Policies run one after another, in the configured order: at each stage the first that does not accept decides;
/// when all accept, the header fields they add are gathered in order and any one of them can ask for quarantine.
/// </summary>
public sealed class PolicyChain : IInboundPolicy
{
    private readonly IInboundPolicy[] _policies;

    /// <summary>Creates the chain.</summary>
    /// <param name="policies">The policies, in the order they run.</param>
    /// <exception cref="ArgumentNullException"><paramref name="policies"/> or one of them is <c>null</c>.</exception>
    public PolicyChain(IEnumerable<IInboundPolicy> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        _policies = policies.ToArray();
        foreach (IInboundPolicy p in _policies) ArgumentNullException.ThrowIfNull(p, nameof(policies));
    }

    /// <summary>The policies, in the order they run.</summary>
    public IReadOnlyList<IInboundPolicy> Policies => _policies;

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckConnectAsync(SessionInfo session, CancellationToken cancellationToken)
    {
        foreach (IInboundPolicy p in _policies)
        {
            PolicyDecision d = await p.CheckConnectAsync(session, cancellationToken).ConfigureAwait(false);
            if (d.Verdict != PolicyVerdict.Accept) return d;
        }
        return PolicyDecision.Accept;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckHeloAsync(SessionInfo session, string heloName, CancellationToken cancellationToken)
    {
        foreach (IInboundPolicy p in _policies)
        {
            PolicyDecision d = await p.CheckHeloAsync(session, heloName, cancellationToken).ConfigureAwait(false);
            if (d.Verdict != PolicyVerdict.Accept) return d;
        }
        return PolicyDecision.Accept;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckMailAsync(SessionInfo session, PolicyTransaction transaction, CancellationToken cancellationToken)
    {
        foreach (IInboundPolicy p in _policies)
        {
            PolicyDecision d = await p.CheckMailAsync(session, transaction, cancellationToken).ConfigureAwait(false);
            if (d.Verdict != PolicyVerdict.Accept) return d;
        }
        return PolicyDecision.Accept;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckRecipientAsync(SessionInfo session, PolicyTransaction transaction, Mailbox recipient,
        CancellationToken cancellationToken)
    {
        foreach (IInboundPolicy p in _policies)
        {
            PolicyDecision d = await p.CheckRecipientAsync(session, transaction, recipient, cancellationToken).ConfigureAwait(false);
            if (d.Verdict != PolicyVerdict.Accept) return d;
        }
        return PolicyDecision.Accept;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
    {
        List<string>? headers = null;
        bool quarantine = false;
        string? reason = null;
        foreach (IInboundPolicy p in _policies)
        {
            PolicyDecision d = await p.CheckDataAsync(session, message, cancellationToken).ConfigureAwait(false);
            if (d.Verdict != PolicyVerdict.Accept) return d;
            if (d.AddHeaders is { Count: > 0 } add) (headers ??= []).AddRange(add);
            if (d.Quarantine)
            {
                quarantine = true;
                reason ??= d.Reason;
            }
        }
        return headers is null && !quarantine ? PolicyDecision.Accept : PolicyDecision.AcceptWith(headers, quarantine, reason);
    }
}
