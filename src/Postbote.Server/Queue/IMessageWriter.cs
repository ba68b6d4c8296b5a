using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// One message being written to the spool. Body bytes are appended in order; <see cref="CommitAsync"/> makes the message
/// durable (body and envelope on stable storage) and hands it to delivery. Disposing without a commit aborts.
/// </summary>
public interface IMessageWriter : IAsyncDisposable
{
    /// <summary>The number of body bytes written so far.</summary>
    long Length { get; }

    /// <summary>Appends body bytes (the message as stored: headers Postbote adds, then the client's data, unstuffed).</summary>
    /// <param name="data">The bytes to append; the writer does not keep a reference after the call returns.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <exception cref="IOException">The spool cannot be written.</exception>
    /// <exception cref="InvalidOperationException">The writer is already committed or aborted.</exception>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Opens what was written so far for reading, from <paramref name="start"/> on: the end-of-data policy reads
    /// the message through it before the commit (RFC 6376 §6 verification sees the body, whatever its size). The stream
    /// is valid until the writer is committed or disposed; nothing may be written while it is read.</summary>
    /// <param name="start">The first byte to read, counted from the first byte written.</param>
    /// <returns>A read-only stream of the bytes from <paramref name="start"/> to <see cref="Length"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="start"/> is negative or past <see cref="Length"/>.</exception>
    /// <exception cref="IOException">The body file cannot be opened.</exception>
    /// <exception cref="InvalidOperationException">The writer is already committed or aborted.</exception>
    Stream OpenRead(long start);

    /// <summary>
    /// Writes the envelope and waits until body and envelope are on stable storage (fsync; concurrent commits share one
    /// sync round), then queues the message for delivery.
    /// </summary>
    /// <param name="envelope">The final envelope; its <see cref="Envelope.Id"/> must be the ID given at begin and its
    /// <see cref="Envelope.Size"/> is set by the writer to <see cref="Length"/>.</param>
    /// <param name="cancellationToken">Cancels waiting; the message may still be committed.</param>
    /// <exception cref="IOException">The commit failed; the message is not queued (the session answers 451 4.3.1 when the
    /// file system is full, see <see cref="StorageFaults.IsOutOfSpace"/>, else 451 4.3.0).</exception>
    /// <exception cref="InvalidOperationException">The writer is already committed or aborted.</exception>
    ValueTask CommitAsync(Envelope envelope, CancellationToken cancellationToken);
}
