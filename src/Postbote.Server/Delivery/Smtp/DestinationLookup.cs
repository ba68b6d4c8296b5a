using Postbote.Core;

namespace Postbote.Delivery.Smtp;

/// <summary>What <see cref="DestinationResolver"/> found for a domain: the addresses to try, or the reply every
/// recipient of the domain gets.</summary>
public sealed record DestinationLookup
{
    private DestinationLookup(IReadOnlyList<MailExchanger> exchangers, SmtpReply? failure)
    {
        Exchangers = exchangers;
        Failure = failure;
    }

    /// <summary>The addresses in the order to try; empty on failure.</summary>
    public IReadOnlyList<MailExchanger> Exchangers { get; }

    /// <summary>Why there is nowhere to go (4xx temporary, 5xx permanent), or <c>null</c>.</summary>
    public SmtpReply? Failure { get; }

    /// <summary>A destination with addresses.</summary>
    /// <param name="exchangers">The addresses, at least one.</param>
    /// <returns>The lookup.</returns>
    public static DestinationLookup To(IReadOnlyList<MailExchanger> exchangers) => new(exchangers, null);

    /// <summary>A failure.</summary>
    /// <param name="reply">The reply for every recipient of the domain.</param>
    /// <returns>The lookup.</returns>
    public static DestinationLookup Failed(SmtpReply reply) => new([], reply);
}
