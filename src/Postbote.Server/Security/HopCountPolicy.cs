using Postbote.Core;
using Postbote.Protocol.Smtp;

namespace Postbote.Security;

/// <summary>
/// The end-of-data stage that refuses a message caught in a mail loop (RFC 5321 §6.3): one that arrives with more
/// <c>Received:</c> header fields than <c>[limits] hop_count_limit</c> gets <c>554 5.4.6</c> (RFC 3463 §3.5, "Routing
/// loop detected") and is not queued, so the loop ends at the sender, which bounces it. The Received field this server
/// writes is not counted here; a message already queued is checked again when it is relayed.
/// </summary>
/// <remarks>RFC 5321 §6.3: "Simple counting of the number of "Received:" header fields in a message has proven to be
/// an effective, although rarely optimal, method of detecting loops in mail systems. SMTP servers using this technique
/// SHOULD use a large rejection threshold, normally at least 100 Received entries."</remarks>
public sealed class HopCountPolicy : IInboundPolicy
{
    private readonly int _limit;

    /// <summary>Creates the policy.</summary>
    /// <param name="limit">The most <c>Received:</c> fields a message may arrive with; 0 turns the check off.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    public HopCountPolicy(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        _limit = limit;
    }

    /// <summary>The reply to a message with too many hops.</summary>
    public static SmtpReply TooManyHops { get; } = new(SmtpReplyCode.TransactionFailed, new EnhancedStatusCode(5, 4, 6),
        "Error: too many hops (mail loop)");

    /// <inheritdoc />
    /// <exception cref="IOException">A header section longer than the kept part cannot be read.</exception>
    public async ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_limit == 0) return PolicyDecision.Accept;
        var counter = new HopCounter();
        counter.Feed(message.HeaderSection.Span);
        if (!message.HeaderSectionComplete && !counter.Done && counter.Count <= _limit)
        {
            // A header section longer than the kept 64 KiB: counted again from the data, up to its end or the limit.
            counter = new HopCounter();
            byte[] buffer = new byte[16 * 1024];
            Stream data = message.OpenRead();
            await using (data.ConfigureAwait(false))
            {
                int n;
                while (!counter.Done && counter.Count <= _limit && (n = await data.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    counter.Feed(buffer.AsSpan(0, n));
                }
            }
        }
        return counter.Count > _limit
            ? PolicyDecision.Reject(TooManyHops, $"too many hops: more than {_limit} Received: header fields (limits.hop_count_limit)")
            : PolicyDecision.Accept;
    }
}
