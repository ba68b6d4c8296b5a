using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// Where the SMTP session puts a message it receives: the spool. The session begins a message, streams the body bytes
/// as they arrive, and commits with the final envelope; only after <see cref="IMessageWriter.CommitAsync"/> returns may it
/// answer <c>250</c> (RFC 5321 §6.1: "the receiver-SMTP MUST NOT lose the message").
/// </summary>
public interface IMessageSink
{
    /// <summary>Begins a new message under the given queue ID.</summary>
    /// <param name="id">The queue ID the session chose (it is already in the Received header it will write).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A writer for the body; disposing it without a commit aborts and removes what was written.</returns>
    /// <exception cref="IOException">The spool cannot be written (the session answers 452 4.3.1 when the file system is
    /// full, see <see cref="StorageFaults.IsOutOfSpace"/>, else 451 4.3.0).</exception>
    ValueTask<IMessageWriter> BeginAsync(QueueId id, CancellationToken cancellationToken);
}
