using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// A committed message as the spool hands it to delivery: the envelope with each recipient's status, the queue state
/// of each recipient, and where the body is.
/// </summary>
/// <param name="Envelope">The envelope; <see cref="Envelope.Size"/> is the body length in bytes.</param>
/// <param name="States">The queue state per recipient, parallel to <see cref="Envelope.Recipients"/> (same count, same
/// order).</param>
/// <param name="BodyPath">The full path of the file that holds the body: the spool segment <c>seg-NNNNNNNNNNNN.log</c>
/// whose record carries it, at <see cref="BodyOffset"/>; or, for a body too large to go inline, its own file
/// <c>&lt;id&gt;.eml</c>, which holds exactly the body (<see cref="BodyOffset"/> 0). The body is
/// <see cref="Envelope.Size"/> bytes either way.</param>
/// <param name="IsRecovered"><c>true</c> when the entry was found in the spool at start-up (an earlier run may have
/// delivered some copies before it stopped), <c>false</c> for a fresh commit.</param>
public sealed record SpoolEntry(Envelope Envelope, IReadOnlyList<RecipientQueueState> States, string BodyPath, bool IsRecovered)
{
    /// <summary>Where in <see cref="BodyPath"/> the body starts, in bytes: its offset in the spool segment, or 0 for a body
    /// in a file of its own.</summary>
    public long BodyOffset { get; init; }

    /// <summary>CRC-32C of the body's <see cref="Envelope.Size"/> bytes, as recorded when it was committed; <c>null</c> for a
    /// record written before bodies had a checksum.</summary>
    public uint? BodyChecksum { get; init; }

    /// <summary>Opens the message as it is delivered: the added header fields, then the stored bytes.</summary>
    /// <returns>A read-only stream.</returns>
    /// <exception cref="IOException">The body file cannot be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The body file cannot be read.</exception>
    public QueuedMessageStream OpenMessage() => QueuedMessageStream.Open(Envelope, BodyPath, BodyOffset);
}
