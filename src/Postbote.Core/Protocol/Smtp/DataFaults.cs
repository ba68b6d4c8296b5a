namespace Postbote.Protocol.Smtp;

/// <summary>What was wrong with message data; the message is refused after end of data and nothing is queued.</summary>
[Flags]
public enum DataFaults
{
    /// <summary>No fault.</summary>
    None = 0,
    /// <summary>A bare LF (not preceded by CR) was seen: refused as an SMTP smuggling defence (RFC 5321 §2.3.8, §4.1.1.4:
    /// "SMTP client implementations MUST NOT transmit these characters except when they are intended as line terminators").</summary>
    BareLineFeed = 1,
    /// <summary>A bare CR (not followed by LF) was seen.</summary>
    BareCarriageReturn = 2,
    /// <summary>A text line exceeded 1000 octets including CRLF (RFC 5321 §4.5.3.1.6).</summary>
    LineTooLong = 4,
    /// <summary>The message exceeded the size limit; the rest was drained and discarded.</summary>
    TooBig = 8,
}
