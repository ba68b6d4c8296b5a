using System.Buffers;
using System.Text;
using Postbote.Core;

namespace Postbote.Protocol.Smtp.Client;

/// <summary>
/// Parses the replies of an SMTP or LMTP server (RFC 5321 §4.2, §4.2.1; RFC 2033 §4.2) into <see cref="SmtpReply"/>
/// values: <c>Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF</c>, with the
/// enhanced status code of RFC 3463 / RFC 2034 taken off the text when a line starts with one. Pure: no I/O, no
/// logging. Every read is bounded: a line longer than the line limit, or more lines than the line-count limit, is
/// <see cref="OperationStatus.InvalidData"/> before more than that is buffered.
/// </summary>
/// <remarks>
/// Leniencies, each a deliberate choice: a bare LF also ends a line (a CR before it is removed), as deployed clients
/// accept; the reply text is decoded as UTF-8 (servers with SMTPUTF8 may send it, RFC 6531 §3.7.4) with invalid
/// sequences replaced by U+FFFD, and control characters other than HT are replaced by <c>?</c>, so that the text can go
/// into logs and delivery status notifications as it is.
/// </remarks>
public static class SmtpReplyParser
{
    /// <summary>The default longest reply line, in octets including the reply code and the line end: 2,048. RFC 5321
    /// §4.5.3.1.5 sets 512 ("The maximum total length of a reply line including the reply code and the &lt;CRLF&gt; is
    /// 512 octets"); servers exceed it with long policy texts, so the default allows four times that, as Postfix's
    /// <c>line_length_limit</c> does.</summary>
    public const int DefaultMaxLineLength = 2048;

    /// <summary>The default most lines of one reply: 100. An EHLO reply, the longest in practice, has about 20.</summary>
    public const int DefaultMaxLines = 100;

    /// <summary>Parses one complete reply with the default limits.</summary>
    /// <param name="reader">The bytes received from the server. On <see cref="OperationStatus.Done"/> it is advanced
    /// past the reply; otherwise it is left where it was.</param>
    /// <param name="reply">The reply on <see cref="OperationStatus.Done"/>, otherwise <c>null</c>.</param>
    /// <returns><see cref="OperationStatus.Done"/>, <see cref="OperationStatus.NeedMoreData"/> when the final line has
    /// not arrived yet, or <see cref="OperationStatus.InvalidData"/> when the bytes are no reply (the connection should
    /// then be closed: what follows cannot be trusted).</returns>
    public static OperationStatus TryParse(ref SequenceReader<byte> reader, out SmtpReply? reply) =>
        TryParse(ref reader, out reply, out _);

    /// <summary>Parses one complete reply.</summary>
    /// <param name="reader">The bytes received from the server. On <see cref="OperationStatus.Done"/> it is advanced
    /// past the reply; otherwise it is left where it was.</param>
    /// <param name="reply">The reply on <see cref="OperationStatus.Done"/>, otherwise <c>null</c>.</param>
    /// <param name="fault">Why the data is invalid, on <see cref="OperationStatus.InvalidData"/>; otherwise
    /// <see cref="SmtpReplyFault.None"/>.</param>
    /// <param name="maxLineLength">The longest line accepted, in octets including the reply code and the line end;
    /// at least 5.</param>
    /// <param name="maxLines">The most lines one reply may have; at least 1.</param>
    /// <returns><see cref="OperationStatus.Done"/>, <see cref="OperationStatus.NeedMoreData"/> or
    /// <see cref="OperationStatus.InvalidData"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLineLength"/> is below 5 or
    /// <paramref name="maxLines"/> below 1.</exception>
    public static OperationStatus TryParse(ref SequenceReader<byte> reader, out SmtpReply? reply, out SmtpReplyFault fault,
        int maxLineLength = DefaultMaxLineLength, int maxLines = DefaultMaxLines)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineLength, 5);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLines, 1);
        reply = null;
        fault = SmtpReplyFault.None;
        SequenceReader<byte> work = reader;
        int code = 0;
        EnhancedStatusCode? status = null;
        string? first = null;
        List<string>? lines = null;
        byte[]? copy = null;
        for (int n = 0; ; n++)
        {
            if (n == maxLines) return Invalid(SmtpReplyFault.TooManyLines, out fault);
            // Bound the search for the line end before looking: never scan or hold more than one line's limit.
            ReadOnlySequence<byte> window = work.UnreadSequence;
            if (window.Length > maxLineLength) window = window.Slice(0, maxLineLength);
            SequencePosition? lf = window.PositionOf((byte)'\n');
            if (lf is null)
                return window.Length == maxLineLength ? Invalid(SmtpReplyFault.LineTooLong, out fault) : OperationStatus.NeedMoreData;
            ReadOnlySequence<byte> raw = window.Slice(0, lf.Value);
            work.Advance(raw.Length + 1);

            ReadOnlySpan<byte> line;
            if (raw.IsSingleSegment)
            {
                line = raw.FirstSpan; // the fast path: the line sits in one segment
            }
            else
            {
                // A line across segments is copied once into a buffer of the line limit (rare: only at a segment end).
                copy ??= new byte[maxLineLength];
                raw.CopyTo(copy);
                line = copy.AsSpan(0, (int)raw.Length);
            }
            if (!line.IsEmpty && line[^1] == '\r') line = line[..^1];

            if (line.Length < 3 || line[0] is < (byte)'2' or > (byte)'5' || line[1] is < (byte)'0' or > (byte)'5'
                || line[2] is < (byte)'0' or > (byte)'9')
                return Invalid(SmtpReplyFault.BadCode, out fault);
            int lineCode = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
            bool last;
            if (line.Length == 3) last = true;
            else if (line[3] == ' ') last = true;
            else if (line[3] == '-') last = false;
            else return Invalid(SmtpReplyFault.BadSeparator, out fault);

            // RFC 5321 §4.2.1: "In a multiline reply, the reply code on each of the lines MUST be the same."
            if (n == 0) code = lineCode;
            else if (lineCode != code) return Invalid(SmtpReplyFault.CodeMismatch, out fault);

            ReadOnlySpan<byte> text = line.Length > 4 ? line[4..] : default;
            if (n == 0) status = ReadEnhancedStatus(text, code / 100, out _);
            if (status is { } s && ReadEnhancedStatus(text, code / 100, out int used) == s)
                text = used < text.Length ? text[(used + 1)..] : default;
            string decoded = DecodeText(text);

            if (n == 0 && last)
            {
                reply = new SmtpReply((SmtpReplyCode)code, status, decoded);
                break;
            }
            if (n == 0) first = decoded;
            else (lines ??= [first!]).Add(decoded);
            if (last)
            {
                reply = new SmtpReply((SmtpReplyCode)code, status, lines!.ToArray());
                break;
            }
        }
        reader = work;
        return OperationStatus.Done;
    }

    /// <summary>
    /// Reads an enhanced status code at the start of a reply text (RFC 3463 §2: <c>status-code = class "." subject "."
    /// detail</c>, <c>class = "2" / "4" / "5"</c>, <c>subject = 1*3digit</c>, <c>detail = 1*3digit</c>; RFC 2034 §4: it is
    /// the first token of the text), followed by SP or the end of the text. A code whose class is not the reply's first
    /// digit is not taken as one: it would contradict the reply it stands in, and stays part of the text.
    /// </summary>
    /// <param name="text">The text after the reply code and its separator.</param>
    /// <param name="replyClass">The first digit of the reply code.</param>
    /// <param name="length">The octets the status code takes, when found.</param>
    /// <returns>The code, or <c>null</c>.</returns>
    private static EnhancedStatusCode? ReadEnhancedStatus(ReadOnlySpan<byte> text, int replyClass, out int length)
    {
        length = 0;
        if (text.Length < 5 || text[0] - '0' != replyClass || text[1] != '.') return null;
        int i = 2;
        if (!ReadNumber(text, ref i, out int subject) || i >= text.Length || text[i] != '.') return null;
        i++;
        if (!ReadNumber(text, ref i, out int detail) || (i < text.Length && text[i] != ' ')) return null;
        length = i;
        return new EnhancedStatusCode(replyClass, subject, detail);
    }

    private static bool ReadNumber(ReadOnlySpan<byte> text, ref int i, out int value)
    {
        value = 0;
        int start = i;
        while (i < text.Length && i - start < 4 && text[i] is >= (byte)'0' and <= (byte)'9') value = value * 10 + (text[i++] - '0');
        return i - start is >= 1 and <= 3;
    }

    private static string DecodeText(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty) return string.Empty;
        bool plain = true;
        foreach (byte b in text)
        {
            if (b is < 0x20 and not (byte)'\t' or >= 0x7F) { plain = false; break; }
        }
        if (plain) return Encoding.ASCII.GetString(text);
        string s = Encoding.UTF8.GetString(text);
        return string.Create(s.Length, s, static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++)
            {
                char c = src[i];
                dst[i] = char.IsControl(c) && c != '\t' ? '?' : c;
            }
        });
    }

    private static OperationStatus Invalid(SmtpReplyFault why, out SmtpReplyFault fault)
    {
        fault = why;
        return OperationStatus.InvalidData;
    }
}
