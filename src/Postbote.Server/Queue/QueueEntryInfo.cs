using Postbote.Core;

namespace Postbote.Queue;

/// <summary>One line of <c>postbote queue list</c>: a committed message as read from its latest spool record.</summary>
/// <param name="Id">The queue ID.</param>
/// <param name="ReceivedAt">When the message was accepted (UTC).</param>
/// <param name="Size">The body size in bytes.</param>
/// <param name="ReversePath">The reverse-path in angle brackets, <c>&lt;&gt;</c> for the null reverse-path
/// (RFC 5321 §4.1.2).</param>
/// <param name="Recipients">The forward-paths with their DSN parameters and delivery status.</param>
/// <param name="States">The queue state per recipient, parallel to <paramref name="Recipients"/>.</param>
public sealed record QueueEntryInfo(QueueId Id, DateTimeOffset ReceivedAt, long Size, string ReversePath,
    IReadOnlyList<Recipient> Recipients, IReadOnlyList<RecipientQueueState> States);
