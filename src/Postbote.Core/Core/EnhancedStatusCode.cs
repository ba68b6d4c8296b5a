namespace Postbote.Core;

/// <summary>
/// An enhanced mail system status code <c>class.subject.detail</c> (RFC 3463 §2), sent after the reply code as
/// RFC 2034 §3 asks: "the enhanced status code ... MUST appear as the first token of the text".
/// </summary>
/// <param name="Class">2 (success), 4 (persistent transient failure) or 5 (permanent failure).</param>
/// <param name="Subject">The subject, 0 to 999 (RFC 3463 §3: 0 other, 1 addressing, 2 mailbox, 3 mail system, 4 network,
/// 5 protocol, 6 content, 7 security).</param>
/// <param name="Detail">The detail, 0 to 999.</param>
public readonly record struct EnhancedStatusCode(int Class, int Subject, int Detail)
{
    /// <summary>2.0.0 Other or undefined success.</summary>
    public static readonly EnhancedStatusCode Success = new(2, 0, 0);
    /// <summary>2.1.0 Other address status: the reverse-path was accepted.</summary>
    public static readonly EnhancedStatusCode SenderOk = new(2, 1, 0);
    /// <summary>2.1.5 Destination address valid.</summary>
    public static readonly EnhancedStatusCode DestinationValid = new(2, 1, 5);
    /// <summary>4.3.0 Other or undefined mail system status (temporary).</summary>
    public static readonly EnhancedStatusCode TemporarySystemError = new(4, 3, 0);
    /// <summary>4.3.1 Mail system full (RFC 3463 §3.4): the server's storage is exhausted (ENOSPC, quota).</summary>
    public static readonly EnhancedStatusCode MailSystemFull = new(4, 3, 1);
    /// <summary>4.4.2 Bad connection (idle timeout, slow client).</summary>
    public static readonly EnhancedStatusCode BadConnection = new(4, 4, 2);
    /// <summary>4.4.5 System congestion (too many connections).</summary>
    public static readonly EnhancedStatusCode Congestion = new(4, 4, 5);
    /// <summary>4.5.3 Too many recipients (RFC 3463 §3.6).</summary>
    public static readonly EnhancedStatusCode TooManyRecipients = new(4, 5, 3);
    /// <summary>4.7.0 Other or undefined security status (temporary).</summary>
    public static readonly EnhancedStatusCode TemporarySecurity = new(4, 7, 0);
    /// <summary>5.1.1 Bad destination mailbox address.</summary>
    public static readonly EnhancedStatusCode BadDestinationMailbox = new(5, 1, 1);
    /// <summary>5.1.3 Bad destination mailbox address syntax.</summary>
    public static readonly EnhancedStatusCode BadDestinationSyntax = new(5, 1, 3);
    /// <summary>5.1.7 Bad sender's mailbox address syntax.</summary>
    public static readonly EnhancedStatusCode BadSenderSyntax = new(5, 1, 7);
    /// <summary>5.3.4 Message too big for system.</summary>
    public static readonly EnhancedStatusCode MessageTooBig = new(5, 3, 4);
    /// <summary>5.5.1 Invalid command (bad sequence).</summary>
    public static readonly EnhancedStatusCode InvalidCommand = new(5, 5, 1);
    /// <summary>5.5.2 Syntax error (unknown command, line too long).</summary>
    public static readonly EnhancedStatusCode SyntaxError = new(5, 5, 2);
    /// <summary>5.5.4 Invalid command arguments (bad or unknown parameter).</summary>
    public static readonly EnhancedStatusCode InvalidArguments = new(5, 5, 4);
    /// <summary>5.6.0 Other or undefined media error (bad message content).</summary>
    public static readonly EnhancedStatusCode MediaError = new(5, 6, 0);
    /// <summary>5.6.7 Non-ASCII addresses not permitted for that sender/recipient (RFC 6531 §3.6).</summary>
    public static readonly EnhancedStatusCode NonAsciiNotPermitted = new(5, 6, 7);
    /// <summary>5.7.1 Delivery not authorized, message refused (relay access denied).</summary>
    public static readonly EnhancedStatusCode NotAuthorized = new(5, 7, 1);
    /// <summary>5.3.3 System not capable of selected features.</summary>
    public static readonly EnhancedStatusCode NotCapable = new(5, 3, 3);
    /// <summary>5.5.0 Other or undefined protocol status (permanent).</summary>
    public static readonly EnhancedStatusCode ProtocolError = new(5, 5, 0);

    /// <summary>Formats the code as <c>class.subject.detail</c>, e.g. <c>5.1.1</c>.</summary>
    /// <returns>The dotted text form.</returns>
    public override string ToString() => $"{Class}.{Subject}.{Detail}";
}
