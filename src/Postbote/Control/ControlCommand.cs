namespace Postbote.Host.Control;

/// <summary>The commands of the control socket, one per <c>postbote queue</c> subcommand; the verb on the request line is
/// the name in lower case (<see cref="ControlRequest"/>).</summary>
public enum ControlCommand
{
    /// <summary><c>list</c>: every queued message with its recipients' state and last reply.</summary>
    List,
    /// <summary><c>show ID</c>: one message's envelope, per-recipient state and header section.</summary>
    Show,
    /// <summary><c>flush</c>: every deferred recipient of every message due now.</summary>
    Flush,
    /// <summary><c>retry ID</c>: the deferred recipients of one message due now.</summary>
    Retry,
    /// <summary><c>hold ID</c>: no delivery attempt for the message until it is released.</summary>
    Hold,
    /// <summary><c>release ID</c>: a held message is due now.</summary>
    Release,
    /// <summary><c>delete ID</c>: the message leaves the queue without delivery and without a bounce.</summary>
    Delete,
    /// <summary><c>trace QUERY</c>: the stored events of a message named by queue ID or Message-ID, one JSON line each
    /// (<see cref="Postbote.Tracing.EventLine"/>), after the events still pending are written.</summary>
    Trace,

    /// <summary><c>mailq</c>: the queue in the layout of Postfix's <c>postqueue -p</c> (<see cref="MailqReport"/>), for
    /// <c>postbote sendmail -bp</c> and <c>mailq</c>.</summary>
    Mailq,
}
