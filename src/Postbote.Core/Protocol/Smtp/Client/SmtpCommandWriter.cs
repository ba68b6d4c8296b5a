using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Postbote.Core;

namespace Postbote.Protocol.Smtp.Client;

/// <summary>
/// Writes the commands an SMTP client (RFC 5321 §4.1.1) or LMTP client (RFC 2033) sends, each a complete line ending in
/// CRLF, into an <see cref="IBufferWriter{T}"/>: EHLO, HELO, LHLO, MAIL FROM with SIZE, BODY, SMTPUTF8, RET and ENVID,
/// RCPT TO with NOTIFY and ORCPT, DATA, BDAT, RSET, NOOP, QUIT and STARTTLS. Verbs are written in upper case, as RFC
/// 5321 §2.4 recommends. Pure: no I/O.
/// </summary>
/// <remarks>
/// Every value that goes on the line is checked first, so that no argument can end the line early or smuggle a second
/// command (RFC 5321 §2.3.8: "SMTP client implementations MUST NOT transmit these characters except when they are
/// intended as line terminators"): a CR, LF or other control character in a domain, mailbox or parameter is an
/// <see cref="ArgumentException"/> and nothing is written. Whether a parameter may be sent (the server offered its
/// extension) is the caller's decision.
/// </remarks>
public static class SmtpCommandWriter
{
    /// <summary>Writes <c>EHLO domain</c> (RFC 5321 §4.1.1.1).</summary>
    /// <param name="output">Where the line goes.</param>
    /// <param name="domain">This host's name, or an address literal such as <c>[192.0.2.1]</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="domain"/> is empty or holds a character outside 33–126.</exception>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    public static void WriteEhlo(IBufferWriter<byte> output, string domain) => WriteGreeting(output, "EHLO "u8, domain);

    /// <summary>Writes <c>HELO domain</c> (RFC 5321 §4.1.1.1), for a server that refused EHLO.</summary>
    /// <param name="output">Where the line goes.</param>
    /// <param name="domain">This host's name, or an address literal.</param>
    /// <exception cref="ArgumentException"><paramref name="domain"/> is empty or holds a character outside 33–126.</exception>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    public static void WriteHelo(IBufferWriter<byte> output, string domain) => WriteGreeting(output, "HELO "u8, domain);

    /// <summary>Writes <c>LHLO domain</c>, LMTP's EHLO (RFC 2033 §4.1).</summary>
    /// <param name="output">Where the line goes.</param>
    /// <param name="domain">This host's name.</param>
    /// <exception cref="ArgumentException"><paramref name="domain"/> is empty or holds a character outside 33–126.</exception>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    public static void WriteLhlo(IBufferWriter<byte> output, string domain) => WriteGreeting(output, "LHLO "u8, domain);

    /// <summary>
    /// Writes <c>MAIL FROM:&lt;reverse-path&gt;</c> and its parameters (RFC 5321 §4.1.1.2, §4.1.2): <c>SIZE=n</c>
    /// (RFC 1870 §6), <c>BODY=</c> (RFC 6152 §2, RFC 3030 §3), <c>SMTPUTF8</c> (RFC 6531 §3.4), <c>RET=</c> and
    /// <c>ENVID=</c> (RFC 3461 §4.3, §4.4), in that order.
    /// </summary>
    /// <param name="output">Where the line goes.</param>
    /// <param name="reversePath">The sender, or <c>null</c> for the null reverse-path <c>&lt;&gt;</c>.</param>
    /// <param name="parameters">The parameters to add.</param>
    /// <exception cref="ArgumentException">The mailbox holds a control character or a space outside a quoted local
    /// part, or <see cref="MailCommandParameters.EnvelopeId"/> is longer than 100 characters once encoded (RFC 3461 §4.4).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MailCommandParameters.Size"/> is negative.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <c>null</c>.</exception>
    public static void WriteMail(IBufferWriter<byte> output, Mailbox? reversePath, in MailCommandParameters parameters = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (reversePath is not null) CheckMailbox(reversePath, nameof(reversePath));
        if (parameters.Size is < 0) throw new ArgumentOutOfRangeException(nameof(parameters), parameters.Size, "SIZE must not be negative.");
        if (parameters.EnvelopeId is { } envid && XText.EncodedLength(envid) > 100)
            throw new ArgumentException("ENVID is longer than 100 characters once xtext-encoded (RFC 3461 §4.4).", nameof(parameters));

        Write(output, "MAIL FROM:<"u8);
        if (reversePath is not null) WriteMailbox(output, reversePath);
        Write(output, ">"u8);
        if (parameters.Size is { } size)
        {
            Write(output, " SIZE="u8);
            WriteNumber(output, size);
        }
        if (parameters.Body == BodyType.EightBitMime) Write(output, " BODY=8BITMIME"u8);
        else if (parameters.Body == BodyType.BinaryMime) Write(output, " BODY=BINARYMIME"u8);
        if (parameters.SmtpUtf8) Write(output, " SMTPUTF8"u8);
        if (parameters.Return == DsnReturn.Full) Write(output, " RET=FULL"u8);
        else if (parameters.Return == DsnReturn.Headers) Write(output, " RET=HDRS"u8);
        if (parameters.EnvelopeId is { } id)
        {
            Write(output, " ENVID="u8);
            XText.Write(output, id);
        }
        Write(output, "\r\n"u8);
    }

    /// <summary>
    /// Writes <c>RCPT TO:&lt;forward-path&gt;</c> and its DSN parameters (RFC 5321 §4.1.1.3; RFC 3461 §4.1
    /// <c>NOTIFY=</c>, §4.2 <c>ORCPT=addr-type;xtext</c>).
    /// </summary>
    /// <param name="output">Where the line goes.</param>
    /// <param name="forwardPath">The recipient; the domain-less <c>Postmaster</c> is written as <c>&lt;Postmaster&gt;</c>.</param>
    /// <param name="parameters">The parameters to add.</param>
    /// <exception cref="ArgumentException">The mailbox holds a control character or a space outside a quoted local
    /// part; NOTIFY combines NEVER with another condition (RFC 3461 §4.1); the ORCPT address type is not an atom, or
    /// ORCPT is longer than 500 characters once encoded (RFC 3461 §4.2).</exception>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> or <paramref name="forwardPath"/> is <c>null</c>.</exception>
    public static void WriteRcpt(IBufferWriter<byte> output, Mailbox forwardPath, in RcptCommandParameters parameters = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(forwardPath);
        CheckMailbox(forwardPath, nameof(forwardPath));
        DsnNotify notify = parameters.Notify;
        if ((notify & DsnNotify.Never) != 0 && notify != DsnNotify.Never)
            throw new ArgumentException("NOTIFY=NEVER cannot be combined with another condition (RFC 3461 §4.1).", nameof(parameters));
        string? orcpt = parameters.OriginalRecipient;
        string type = parameters.OriginalRecipientType ?? "rfc822";
        if (orcpt is not null)
        {
            if (type.Length == 0 || !IsAtom(type))
                throw new ArgumentException("The ORCPT address type must be an atom such as rfc822 (RFC 3461 §4.2).", nameof(parameters));
            if (type.Length + 1 + XText.EncodedLength(orcpt) > 500)
                throw new ArgumentException("ORCPT is longer than 500 characters once xtext-encoded (RFC 3461 §4.2).", nameof(parameters));
        }

        Write(output, "RCPT TO:<"u8);
        WriteMailbox(output, forwardPath);
        Write(output, ">"u8);
        if (notify != DsnNotify.Default)
        {
            Write(output, " NOTIFY="u8);
            if (notify == DsnNotify.Never)
            {
                Write(output, "NEVER"u8);
            }
            else
            {
                bool comma = false;
                if ((notify & DsnNotify.Success) != 0) { Write(output, "SUCCESS"u8); comma = true; }
                if ((notify & DsnNotify.Failure) != 0) { Write(output, comma ? ",FAILURE"u8 : "FAILURE"u8); comma = true; }
                if ((notify & DsnNotify.Delay) != 0) Write(output, comma ? ",DELAY"u8 : "DELAY"u8);
            }
        }
        if (orcpt is not null)
        {
            Write(output, " ORCPT="u8);
            WriteAscii(output, type);
            Write(output, ";"u8);
            XText.Write(output, orcpt);
        }
        Write(output, "\r\n"u8);
    }

    /// <summary>Writes <c>DATA</c> (RFC 5321 §4.1.1.4); the message follows the 354 reply, through <see cref="DataEncoder"/>.</summary>
    /// <param name="output">Where the line goes.</param>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <c>null</c>.</exception>
    public static void WriteData(IBufferWriter<byte> output) => WriteLine(output, "DATA\r\n"u8);

    /// <summary>Writes <c>BDAT size</c> or <c>BDAT size LAST</c> (RFC 3030 §2: <c>bdat-cmd ::= "BDAT" SP chunk-size
    /// [ SP end-marker ] CR LF</c>); the chunk's octets follow right after the line, unchanged.</summary>
    /// <param name="output">Where the line goes.</param>
    /// <param name="chunkSize">The size of the chunk that follows, in octets; 0 is allowed (with
    /// <paramref name="last"/>, to end a message whose last chunk was already sent).</param>
    /// <param name="last">Whether this is the last chunk of the message.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunkSize"/> is negative.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <c>null</c>.</exception>
    public static void WriteBdat(IBufferWriter<byte> output, long chunkSize, bool last)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(chunkSize);
        Write(output, "BDAT "u8);
        WriteNumber(output, chunkSize);
        Write(output, last ? " LAST\r\n"u8 : "\r\n"u8);
    }

    /// <summary>Writes <c>RSET</c> (RFC 5321 §4.1.1.5): ends the transaction, so the connection can carry the next one.</summary>
    /// <param name="output">Where the line goes.</param>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <c>null</c>.</exception>
    public static void WriteRset(IBufferWriter<byte> output) => WriteLine(output, "RSET\r\n"u8);

    /// <summary>Writes <c>NOOP</c> (RFC 5321 §4.1.1.9), to check that a kept connection still answers.</summary>
    /// <param name="output">Where the line goes.</param>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <c>null</c>.</exception>
    public static void WriteNoop(IBufferWriter<byte> output) => WriteLine(output, "NOOP\r\n"u8);

    /// <summary>Writes <c>QUIT</c> (RFC 5321 §4.1.1.10).</summary>
    /// <param name="output">Where the line goes.</param>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <c>null</c>.</exception>
    public static void WriteQuit(IBufferWriter<byte> output) => WriteLine(output, "QUIT\r\n"u8);

    /// <summary>Writes <c>STARTTLS</c> (RFC 3207 §4).</summary>
    /// <param name="output">Where the line goes.</param>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <c>null</c>.</exception>
    public static void WriteStartTls(IBufferWriter<byte> output) => WriteLine(output, "STARTTLS\r\n"u8);

    private static void WriteGreeting(IBufferWriter<byte> output, ReadOnlySpan<byte> verb, string domain)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(domain);
        if (domain.Length == 0) throw new ArgumentException("The domain must not be empty.", nameof(domain));
        foreach (char c in domain)
        {
            if (c is < '!' or > '~') throw new ArgumentException($"The domain holds U+{(int)c:X4}, which is not allowed in it.", nameof(domain));
        }
        Write(output, verb);
        WriteAscii(output, domain);
        Write(output, "\r\n"u8);
    }

    private static void WriteLine(IBufferWriter<byte> output, ReadOnlySpan<byte> line)
    {
        ArgumentNullException.ThrowIfNull(output);
        Write(output, line);
    }

    // A mailbox goes between angle brackets on a command line: no control character may end or split the line, and a
    // space or angle bracket only inside a quoted local part (RFC 5321 §4.1.2 Quoted-string).
    private static void CheckMailbox(Mailbox mailbox, string name)
    {
        bool quoted = mailbox.LocalPart.Length >= 2 && mailbox.LocalPart[0] == '"' && mailbox.LocalPart[^1] == '"';
        if (mailbox.LocalPart.Length == 0) throw new ArgumentException("The mailbox has an empty local part.", name);
        CheckText(mailbox.LocalPart, quoted, name);
        CheckText(mailbox.Domain, false, name);
    }

    private static void CheckText(string text, bool quoted, string name)
    {
        foreach (char c in text)
        {
            if (c < 0x20 || c == 0x7F || char.IsControl(c))
                throw new ArgumentException($"The mailbox holds the control character U+{(int)c:X4}.", name);
            if (!quoted && c is ' ' or '<' or '>')
                throw new ArgumentException($"The mailbox holds '{c}' outside a quoted local part.", name);
        }
    }

    private static void WriteMailbox(IBufferWriter<byte> output, Mailbox mailbox)
    {
        WriteUtf8(output, mailbox.LocalPart);
        if (mailbox.Domain.Length > 0)
        {
            Write(output, "@"u8);
            WriteUtf8(output, mailbox.Domain);
        }
    }

    private static bool IsAtom(string s)
    {
        foreach (char c in s)
        {
            if (c > 0x7F || !PathParser.IsAText((byte)c)) return false;
        }
        return true;
    }

    private static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);

    private static void WriteAscii(IBufferWriter<byte> output, string text)
    {
        Span<byte> dst = output.GetSpan(text.Length);
        int n = Encoding.ASCII.GetBytes(text, dst);
        output.Advance(n);
    }

    private static void WriteUtf8(IBufferWriter<byte> output, string text)
    {
        Span<byte> dst = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        int n = Encoding.UTF8.GetBytes(text, dst);
        output.Advance(n);
    }

    private static void WriteNumber(IBufferWriter<byte> output, long value)
    {
        Span<byte> dst = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, dst, out int n);
        output.Advance(n);
    }
}
