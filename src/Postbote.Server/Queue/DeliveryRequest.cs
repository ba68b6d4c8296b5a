using Postbote.Core;

namespace Postbote.Queue;

/// <summary>One delivery attempt of one message to some of its recipients.</summary>
/// <param name="Envelope">The message's envelope (reverse-path, DSN parameters, received time, size in bytes).</param>
/// <param name="BodyPath">The full path of the file that holds the body, a spool segment or the body's own file (see
/// <see cref="SpoolEntry.BodyPath"/>); read it, never change it. The body is the <see cref="Envelope.Size"/> bytes at
/// <see cref="BodyOffset"/>.</param>
/// <param name="Recipients">The recipients to attempt, a subset of <see cref="Envelope.Recipients"/>; the agent answers
/// one <see cref="RecipientResult"/> per entry, in the same order.</param>
/// <param name="IsRecovered"><c>true</c> when an earlier attempt may already have delivered some copies (the entry was
/// recovered at start-up, or this is a retry): the agent must check for an existing copy before writing another.</param>
public sealed record DeliveryRequest(Envelope Envelope, string BodyPath, IReadOnlyList<Recipient> Recipients, bool IsRecovered)
{
    /// <summary>Where in <see cref="BodyPath"/> the body starts, in bytes; it is <see cref="Envelope.Size"/> bytes long.</summary>
    public long BodyOffset { get; init; }

    /// <summary>Opens the body for reading, sequentially, sharing read access.</summary>
    /// <returns>A read-only handle of the body file.</returns>
    /// <exception cref="IOException">The body file cannot be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The body file cannot be read.</exception>
    public Microsoft.Win32.SafeHandles.SafeFileHandle OpenBody() =>
        File.OpenHandle(BodyPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);

    /// <summary>Opens the message as it is delivered: the added header fields (<see cref="Envelope.AddedHeaders"/>), then
    /// the stored bytes; <see cref="Envelope.MessageSize"/> bytes in all.</summary>
    /// <returns>A read-only stream.</returns>
    /// <exception cref="IOException">The body file cannot be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The body file cannot be read.</exception>
    public QueuedMessageStream OpenMessage() => QueuedMessageStream.Open(Envelope, BodyPath, BodyOffset);

    /// <summary>The header fields the end-of-data policy added, as UTF-8 bytes ending in CRLF (empty for none): they go
    /// before the stored bytes.</summary>
    /// <returns>A new array.</returns>
    public byte[] GetAddedHeaderBytes() => System.Text.Encoding.UTF8.GetBytes(Envelope.AddedHeaders ?? "");
}
