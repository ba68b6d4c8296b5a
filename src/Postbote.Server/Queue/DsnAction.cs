namespace Postbote.Queue;

/// <summary>The "Action" of one recipient in a delivery status notification (RFC 3464 §2.3.3).</summary>
public enum DsnAction
{
    /// <summary>"failed": the message could not be delivered to the recipient (a 5yz reply, or its lifetime ran out).</summary>
    Failed,
    /// <summary>"delayed": not delivered yet; Postbote keeps trying.</summary>
    Delayed,
    /// <summary>"delivered": delivered to the recipient's final destination.</summary>
    Delivered,
    /// <summary>"relayed": handed to a next hop that does not offer DSN; no further notices will come.</summary>
    Relayed,
}
