namespace Postbote.Queue;

/// <summary>The outcome of one delivery attempt for one recipient (RFC 3464 §2.3.3 Action: delivered, delayed, failed).</summary>
public enum DeliveryOutcome
{
    /// <summary>Delivered to its final destination or accepted by the next hop (a 2yz reply).</summary>
    Delivered,
    /// <summary>Not delivered this time; retried later (a 4yz reply, or any unclassified error).</summary>
    TemporaryFailure,
    /// <summary>Not delivered and never will be (a 5yz reply); not retried.</summary>
    PermanentFailure,
}
