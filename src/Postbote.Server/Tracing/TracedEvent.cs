using Postbote.Core;

namespace Postbote.Tracing;

/// <summary>One stored event with the queue ID of its message: a line of <c>postbote trace</c>.</summary>
/// <param name="Id">The message's queue ID.</param>
/// <param name="Event">The event.</param>
public sealed record TracedEvent(QueueId Id, MessageEvent Event);
