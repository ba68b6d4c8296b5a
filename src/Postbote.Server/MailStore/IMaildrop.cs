namespace Postbote.MailStore;

/// <summary>
/// A locked maildrop with the messages it held when it was opened, numbered from 1 in <see cref="Messages"/> order for
/// the whole session (RFC 1939 §5: "message numbers ... remain fixed for the duration of the session"). Nothing changes
/// on disk until <see cref="Update"/>; disposing without it releases the lock and changes nothing (a dropped connection
/// deletes nothing, RFC 1939 §6).
/// </summary>
public interface IMaildrop : IDisposable
{
    /// <summary>The messages, in the order their numbers follow (1 is the first).</summary>
    IReadOnlyList<MaildropMessage> Messages { get; }

    /// <summary>Opens a message to read its stored octets.</summary>
    /// <param name="index">0-based index into <see cref="Messages"/>.</param>
    /// <returns>A stream over the stored file (LF or CRLF line ends as stored); the caller disposes it.</returns>
    /// <exception cref="FileNotFoundException">The message was removed by someone else meanwhile.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in <see cref="Messages"/>.</exception>
    Stream OpenMessage(int index);

    /// <summary>The UPDATE state (RFC 1939 §6): removes the messages marked deleted and marks the retrieved ones seen
    /// (moved from <c>new/</c> to <c>cur/</c> with the Maildir flag <c>S</c>).</summary>
    /// <param name="deleted">0-based indexes of the messages to remove.</param>
    /// <param name="retrieved">0-based indexes of the messages the client retrieved with RETR.</param>
    /// <returns>The number of messages marked deleted that could not be removed (0 when all were).</returns>
    int Update(IReadOnlySet<int> deleted, IReadOnlySet<int> retrieved);
}
