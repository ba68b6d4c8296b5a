namespace Postbote.Core;

/// <summary>
/// The SMTP envelope of one queued message (RFC 5321 §2.3.1): reverse-path, forward-paths with their DSN parameters
/// and per-recipient state, and what the session learnt about the client. Immutable; change it with <c>with</c>.
/// </summary>
/// <param name="Id">The queue ID.</param>
/// <param name="ReversePath">The reverse-path, or <c>null</c> for the null reverse-path <c>&lt;&gt;</c>.</param>
/// <param name="Recipients">The forward-paths, in the order accepted, each with its state.</param>
/// <param name="ReceivedAt">When the message was accepted (UTC).</param>
/// <param name="Body">The declared body type.</param>
/// <param name="SmtpUtf8">Whether the client used the SMTPUTF8 parameter (RFC 6531 §3.4).</param>
/// <param name="Return">DSN <c>RET=</c> (RFC 3461 §4.3).</param>
/// <param name="EnvelopeId">DSN <c>ENVID=</c> as received in xtext form (RFC 3461 §4.4), or <c>null</c>.</param>
/// <param name="ClientAddress">The client's IP address as text.</param>
/// <param name="HeloName">The name the client gave in HELO/EHLO.</param>
/// <param name="Size">The size of the stored message in bytes: the Received header Postbote wrote first, then the data the
/// client sent; <see cref="AddedHeaders"/> are not counted.</param>
/// <param name="AddedHeaders">Header fields the end-of-data policy added (RFC 8601 Authentication-Results and the like),
/// each ending in CRLF, which go before the stored message whenever it is read (delivered, relayed or returned), or
/// <c>null</c> for none. They are kept with the envelope because the stored bytes are already written when the
/// policy decides.</param>
/// <param name="Quarantine">Whether the policy asked for the message to be filed as junk (DMARC <c>p=quarantine</c>,
/// RFC 7489 §6.3): local delivery puts it into the mailbox's Junk folder.</param>
public sealed record Envelope(
    QueueId Id,
    Mailbox? ReversePath,
    IReadOnlyList<Recipient> Recipients,
    DateTimeOffset ReceivedAt,
    BodyType Body = BodyType.SevenBit,
    bool SmtpUtf8 = false,
    DsnReturn Return = DsnReturn.Default,
    string? EnvelopeId = null,
    string ClientAddress = "",
    string HeloName = "",
    long Size = 0,
    string? AddedHeaders = null,
    bool Quarantine = false)
{
    /// <summary>The size of the message as delivered, in bytes: <see cref="AddedHeaders"/> (UTF-8) and then
    /// <see cref="Size"/>.</summary>
    public long MessageSize => Size + (AddedHeaders is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(AddedHeaders));

    /// <summary>The reverse-path as it appears in angle brackets, <c>&lt;&gt;</c> for the null reverse-path.</summary>
    public string ReversePathText => ReversePath is null ? "<>" : "<" + ReversePath + ">";
}
