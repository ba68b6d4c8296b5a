namespace Postbote.Host.Sendmail;

/// <summary>What <c>postbote sendmail</c> does.</summary>
public enum SendmailMode
{
    /// <summary>Send the message on standard input (the default, <c>-bm</c>).</summary>
    Send,

    /// <summary><c>-bs</c>: an SMTP session on standard input and output, relayed to the local server.</summary>
    SmtpOnStandardInput,

    /// <summary><c>-bp</c> or the name <c>mailq</c>: list the queue as Postfix's <c>postqueue -p</c>.</summary>
    ListQueue,

    /// <summary><c>-q</c>: every deferred message due now (<c>postbote queue flush</c>).</summary>
    Flush,
}
