using Postbote.Core;

namespace Postbote.Tracing;

/// <summary>
/// Where the parts of the server report the steps of a message's life (<c>postbote trace</c>). Receiving, the queue,
/// delivery and policy call it; it never blocks and never throws: an event that cannot be kept is dropped and counted.
/// </summary>
public interface IMessageEvents
{
    /// <summary>Records one event of a message.</summary>
    /// <param name="id">The message's queue ID.</param>
    /// <param name="e">The event.</param>
    void Record(QueueId id, MessageEvent e);
}
