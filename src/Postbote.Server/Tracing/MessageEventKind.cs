namespace Postbote.Tracing;

/// <summary>What happened to a message, one kind per step of its life (<see cref="MessageEvent"/>).</summary>
public enum MessageEventKind
{
    /// <summary>Received over SMTP (client address, HELO name, TLS, AUTH user, Message-ID, envelope), or created by the
    /// server itself (a delivery status notification, whose <see cref="MessageEvent.Related"/> is the original).</summary>
    Received,
    /// <summary>A decision of the inbound policy during the transaction, with its reason.</summary>
    Policy,
    /// <summary>Durable in the spool; <see cref="MessageEvent.Seconds"/> is how long the commit took.</summary>
    Committed,
    /// <summary>One delivery attempt for one recipient: host, TLS, reply, delay since arrival.</summary>
    Attempt,
    /// <summary>A delivery status notification was queued for the message; <see cref="MessageEvent.Related"/> is its
    /// queue ID.</summary>
    DsnSent,
    /// <summary>An administrator's queue action: retry, hold, release or delete (<see cref="MessageEvent.Action"/>).</summary>
    QueueAction,
    /// <summary>Out of the queue: every recipient final, or deleted.</summary>
    Removed,
}
