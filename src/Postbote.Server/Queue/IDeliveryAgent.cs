namespace Postbote.Queue;

/// <summary>
/// What the scheduler calls to deliver a message: a Maildir writer, an LMTP or SMTP client, or a router that picks one
/// per recipient. Agents report per-recipient outcomes; they do not decide about retries or bounces.
/// </summary>
public interface IDeliveryAgent
{
    /// <summary>Attempts delivery to every recipient of <paramref name="request"/>.</summary>
    /// <param name="request">The message and the recipients to attempt.</param>
    /// <param name="cancellationToken">Cancels the attempt (shutdown); the scheduler then keeps the message queued.</param>
    /// <returns>One result per entry of <see cref="DeliveryRequest.Recipients"/>, in the same order.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <remarks>Any other exception counts as a temporary failure of every recipient of the request.</remarks>
    Task<IReadOnlyList<RecipientResult>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken);
}
