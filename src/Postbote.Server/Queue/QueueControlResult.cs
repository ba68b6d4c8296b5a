namespace Postbote.Queue;

/// <summary>The outcome of one queue command (<c>postbote queue retry|hold|release|delete ID</c>).</summary>
public enum QueueControlResult
{
    /// <summary>Done.</summary>
    Done,
    /// <summary>No message with that queue ID is in the queue.</summary>
    NotFound,
    /// <summary>The command does not apply to the message in its current state (e.g. release of a message not held);
    /// nothing changed.</summary>
    NotApplicable,
}
