namespace Postbote.Queue;

/// <summary>
/// Receives the scheduler's <see cref="DeliveryNotice"/>s: the DSN builder (RFC 3461 §4, RFC 3464) implements it and
/// queues a bounce, delay or success notice back into the spool.
/// </summary>
public interface IDeliveryNotifier
{
    /// <summary>Handles one notice: sends a DSN where RFC 3461 and the envelope ask for one, else nothing.</summary>
    /// <param name="notice">The message and the recipients the notice is about.</param>
    /// <param name="cancellationToken">Cancels at shutdown.</param>
    /// <returns>A task that completes when the notice is committed to the spool (or dropped by policy).</returns>
    /// <exception cref="IOException">The notice cannot be queued; the scheduler logs it and goes on (the original
    /// message's outcome is already recorded).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task NotifyAsync(DeliveryNotice notice, CancellationToken cancellationToken);
}
