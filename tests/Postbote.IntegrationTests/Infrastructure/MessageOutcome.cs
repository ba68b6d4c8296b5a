namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>What a client knows about one message it tried to send when the server died under it.</summary>
public enum MessageOutcome
{
    /// <summary>The connection failed before the final "." was sent: the message must never be delivered.</summary>
    FailedBeforeDot,

    /// <summary>The final "." went out but no reply came: it may be delivered, at most once.</summary>
    InDoubt,

    /// <summary>The server answered 250 to the final ".": it must be delivered exactly once.</summary>
    Acknowledged,

    /// <summary>The server refused it (a reply other than 250): it must not be delivered.</summary>
    Refused,
}
