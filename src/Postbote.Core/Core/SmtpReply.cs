namespace Postbote.Core;

/// <summary>
/// One SMTP reply (RFC 5321 §4.2): a code, an optional enhanced status code (RFC 2034) and one or more text lines.
/// Replies are values; the session's single reply writer turns them into octets.
/// </summary>
/// <param name="Code">The three-digit reply code.</param>
/// <param name="Status">The enhanced status code, or <c>null</c> for the greeting and EHLO replies that carry none.</param>
/// <param name="Lines">The text lines (without CRLF), at least one; multi-line replies use <c>code-</c> continuation
/// (RFC 5321 §4.2.1). Each line must be ASCII without CR or LF.</param>
public sealed record SmtpReply(SmtpReplyCode Code, EnhancedStatusCode? Status, IReadOnlyList<string> Lines)
{
    /// <summary>Creates a single-line reply.</summary>
    /// <param name="code">The reply code.</param>
    /// <param name="status">The enhanced status code, or <c>null</c>.</param>
    /// <param name="text">The text of the line.</param>
    public SmtpReply(SmtpReplyCode code, EnhancedStatusCode? status, string text) : this(code, status, new[] { text })
    {
    }

    /// <summary><c>250 2.0.0 Ok</c>.</summary>
    public static readonly SmtpReply Ok = new(SmtpReplyCode.Ok, EnhancedStatusCode.Success, "Ok");
    /// <summary><c>250 2.1.0 Ok</c>, the reply to an accepted MAIL.</summary>
    public static readonly SmtpReply SenderOk = new(SmtpReplyCode.Ok, EnhancedStatusCode.SenderOk, "Ok");
    /// <summary><c>250 2.1.5 Ok</c>, the reply to an accepted RCPT.</summary>
    public static readonly SmtpReply RecipientOk = new(SmtpReplyCode.Ok, EnhancedStatusCode.DestinationValid, "Ok");
    /// <summary><c>354 End data with &lt;CR&gt;&lt;LF&gt;.&lt;CR&gt;&lt;LF&gt;</c> (RFC 5321 §4.2.3; RFC 2034 gives 354 no enhanced code).</summary>
    public static readonly SmtpReply StartMailInput = new(SmtpReplyCode.StartMailInput, null, "End data with <CR><LF>.<CR><LF>");
    /// <summary><c>503 5.5.1 Bad sequence of commands</c>.</summary>
    public static readonly SmtpReply BadSequence = new(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: bad sequence of commands");
    /// <summary><c>500 5.5.2 Error: command not recognized</c>.</summary>
    public static readonly SmtpReply UnknownCommand = new(SmtpReplyCode.SyntaxError, EnhancedStatusCode.SyntaxError, "Error: command not recognized");
    /// <summary><c>500 5.5.2 Error: line too long</c> (RFC 5321 §4.5.3.1.4, §4.5.3.1.8).</summary>
    public static readonly SmtpReply LineTooLong = new(SmtpReplyCode.SyntaxError, EnhancedStatusCode.SyntaxError, "Error: line too long");
    /// <summary><c>552 5.3.4 Error: message file too big</c> (RFC 5321 §4.5.3.1.10; RFC 1870 §6).</summary>
    public static readonly SmtpReply MessageTooBig = new(SmtpReplyCode.ExceededStorage, EnhancedStatusCode.MessageTooBig, "Error: message file too big");
    /// <summary><c>452 4.5.3 Error: too many recipients</c> (RFC 5321 §4.5.3.1.10: "452 Too many recipients" MUST be temporary).</summary>
    public static readonly SmtpReply TooManyRecipients = new(SmtpReplyCode.InsufficientStorage, EnhancedStatusCode.TooManyRecipients, "Error: too many recipients");
    /// <summary><c>451 4.3.0 Error: queue file write error</c>: the message could not be committed.</summary>
    public static readonly SmtpReply QueueWriteError = new(SmtpReplyCode.LocalError, EnhancedStatusCode.TemporarySystemError, "Error: queue file write error");
    /// <summary><c>452 4.3.1 Error: insufficient system storage</c>: a message cannot be begun because the spool's file
    /// system is full (RFC 5321 §4.2.3 "452 Requested action not taken: insufficient system storage"; RFC 3463 §3.4
    /// X.3.1 "Mail system full").</summary>
    public static readonly SmtpReply InsufficientSystemStorage = new(SmtpReplyCode.InsufficientStorage, EnhancedStatusCode.MailSystemFull, "Error: insufficient system storage");
    /// <summary><c>451 4.3.1 Error: mail system full, message not queued</c>: the spool's file system filled up while the
    /// message was written or committed, so the transaction was aborted (RFC 5321 §4.2.3 "451 Requested action aborted:
    /// local error in processing"; RFC 3463 §3.4 X.3.1 "Mail system full").</summary>
    public static readonly SmtpReply MailSystemFull = new(SmtpReplyCode.LocalError, EnhancedStatusCode.MailSystemFull, "Error: mail system full, message not queued");

    /// <summary>Whether the reply is positive completion (2yz).</summary>
    public bool IsPositive => (int)Code is >= 200 and < 300;

    /// <summary>Whether the reply is positive intermediate (3yz, RFC 5321 §4.2.1), e.g. 354 after DATA.</summary>
    public bool IsIntermediate => (int)Code is >= 300 and < 400;

    /// <summary>Whether the reply is a transient negative completion (4yz, RFC 5321 §4.2.1): the command may succeed
    /// when tried again.</summary>
    public bool IsTransientFailure => (int)Code is >= 400 and < 500;

    /// <summary>Whether the reply is a permanent negative completion (5yz, RFC 5321 §4.2.1): the same command will
    /// fail again.</summary>
    public bool IsPermanentFailure => (int)Code is >= 500 and < 600;

    /// <summary>Formats the reply as it goes on the wire, each line ending in CRLF.</summary>
    /// <returns>The reply text, e.g. <c>"250 2.0.0 Ok\r\n"</c>.</returns>
    public override string ToString()
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < Lines.Count; i++)
        {
            sb.Append((int)Code).Append(i == Lines.Count - 1 ? ' ' : '-');
            if (Status is { } s) sb.Append(s.ToString()).Append(' ');
            sb.Append(Lines[i]).Append("\r\n");
        }
        return sb.ToString();
    }
}
