namespace Postbote.Protocol.Smtp.Client;

/// <summary>Why <see cref="SmtpReplyParser"/> refused what a server sent as a reply (RFC 5321 §4.2).</summary>
public enum SmtpReplyFault
{
    /// <summary>No fault.</summary>
    None,
    /// <summary>A line does not start with a reply code <c>%x32-35 %x30-35 %x30-39</c> (RFC 5321 §4.2).</summary>
    BadCode,
    /// <summary>The code is followed by neither SP, <c>-</c> nor the end of the line (RFC 5321 §4.2).</summary>
    BadSeparator,
    /// <summary>A line of a multi-line reply carries another code than the first (RFC 5321 §4.2.1).</summary>
    CodeMismatch,
    /// <summary>A line is longer than the parser's limit, or no line end came within it.</summary>
    LineTooLong,
    /// <summary>The reply has more lines than the parser's limit.</summary>
    TooManyLines,
}
