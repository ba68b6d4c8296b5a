using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// The queue as an administrator steers it while the server runs (<c>postbote queue list|show|flush|retry|hold|release|
/// delete</c>, through the control socket): the spool has one writer, the running server, so every change goes through it.
/// </summary>
public interface IQueueControl
{
    /// <summary>Every message in the queue with its per-recipient state and last reply.</summary>
    /// <returns>The messages, in no particular order.</returns>
    IReadOnlyList<QueueEntryInfo> List();

    /// <summary>One message: envelope, per-recipient state and where its body is.</summary>
    /// <param name="id">The queue ID.</param>
    /// <returns>The entry, or <c>null</c> when no such message is queued.</returns>
    SpoolEntry? Show(QueueId id);

    /// <summary>Makes every deferred recipient of every message due now (held messages stay held).</summary>
    /// <returns>The number of messages made due.</returns>
    int Flush();

    /// <summary>Makes the deferred recipients of one message due now.</summary>
    /// <param name="id">The queue ID.</param>
    /// <param name="cancellationToken">Cancels the wait for the spool.</param>
    /// <returns><see cref="QueueControlResult.NotApplicable"/> when the message is held or nothing is pending.</returns>
    Task<QueueControlResult> RetryAsync(QueueId id, CancellationToken cancellationToken);

    /// <summary>Puts a message on hold: its pending recipients are not attempted until released (durable).</summary>
    /// <param name="id">The queue ID.</param>
    /// <param name="cancellationToken">Cancels the wait for the spool.</param>
    /// <returns><see cref="QueueControlResult.NotApplicable"/> when already held or nothing is pending.</returns>
    /// <exception cref="IOException">The spool cannot record the change.</exception>
    Task<QueueControlResult> HoldAsync(QueueId id, CancellationToken cancellationToken);

    /// <summary>Releases a held message: its held recipients are due now (durable).</summary>
    /// <param name="id">The queue ID.</param>
    /// <param name="cancellationToken">Cancels the wait for the spool.</param>
    /// <returns><see cref="QueueControlResult.NotApplicable"/> when the message is not held.</returns>
    /// <exception cref="IOException">The spool cannot record the change.</exception>
    Task<QueueControlResult> ReleaseAsync(QueueId id, CancellationToken cancellationToken);

    /// <summary>Removes a message from the queue without delivering it and without a bounce (durable).</summary>
    /// <param name="id">The queue ID.</param>
    /// <param name="cancellationToken">Cancels the wait for the spool.</param>
    /// <returns><see cref="QueueControlResult.Done"/> when removed.</returns>
    /// <exception cref="IOException">The spool cannot record the change.</exception>
    Task<QueueControlResult> DeleteAsync(QueueId id, CancellationToken cancellationToken);
}
