using System.Buffers;

namespace Postbote.Protocol.Smtp.Client;

/// <summary>
/// Encodes a message for the DATA command (RFC 5321 §4.1.1.4, §4.5.2), streaming: the message goes through
/// <see cref="Encode"/> in chunks of any size, and <see cref="Complete"/> ends it with <c>"." CRLF</c>. State carries
/// across chunks, so a line that starts in the next chunk is treated like any other. The counterpart of
/// <see cref="DataDecoder"/>, which decodes what this writes back to the same octets. Pure, and it allocates nothing.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Transparency (RFC 5321 §4.5.2): "Before sending a line of mail text, the SMTP client checks the first character
/// of the line. If it is a period, one additional period is inserted at the beginning of the line."</item>
/// <item>Line ends (RFC 5321 §2.3.8): "SMTP client implementations MUST NOT transmit these characters except when they
/// are intended as line terminators and then MUST, as indicated above, transmit them only as a &lt;CRLF&gt; sequence."
/// A bare CR or bare LF in the message is therefore sent as CRLF and starts a new line, whose leading period is doubled
/// like any other, so no receiver can read an end of data into the message (the SMTP smuggling class).</item>
/// <item>The end (RFC 5321 §4.1.1.4): the CRLF of <c>CRLF "." CRLF</c> is the one that ends the last line; a message
/// that does not end in a line end gets one, and one that does gets none ("An extra &lt;CRLF&gt; MUST NOT be added, as
/// that would cause an empty line to be added to the message").</item>
/// </list>
/// </remarks>
public struct DataEncoder
{
    private enum State : byte { LineStart, InLine, SawCr }

    private State _state;
    private int _lineLength;

    /// <summary>Creates an encoder positioned at the start of the message (right after the 354 reply).</summary>
    public DataEncoder()
    {
        _state = State.LineStart;
    }

    /// <summary>The octets written so far, in octets, including doubled periods and the end of data once
    /// <see cref="Complete"/> wrote it.</summary>
    public long EncodedLength { readonly get; private set; }

    /// <summary>The longest line seen so far, in octets without its line end (RFC 5321 §4.5.3.1.6 allows 998); a
    /// doubled period is not counted.</summary>
    public int LongestLine { readonly get; private set; }

    /// <summary>The number of bare CRs and bare LFs that were sent as CRLF.</summary>
    public int RepairedLineEnds { readonly get; private set; }

    /// <summary>Whether <see cref="Complete"/> was called.</summary>
    public bool Completed { readonly get; private set; }

    /// <summary>Encodes the next octets of the message.</summary>
    /// <param name="message">The next octets, in order; any length, including none.</param>
    /// <param name="output">Where the encoded octets go.</param>
    /// <exception cref="InvalidOperationException"><see cref="Complete"/> was already called.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <c>null</c>.</exception>
    public void Encode(ReadOnlySpan<byte> message, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (Completed) throw new InvalidOperationException("The message data was already completed.");
        int i = 0;
        while (i < message.Length)
        {
            byte b = message[i];
            switch (_state)
            {
                case State.SawCr:
                    if (b == '\n')
                    {
                        Emit("\n"u8, output);
                        i++;
                    }
                    else
                    {
                        // A bare CR: completed to CRLF; the byte after it starts the next line.
                        Emit("\n"u8, output);
                        RepairedLineEnds++;
                    }
                    EndLine();
                    continue;
                case State.LineStart:
                    // RFC 5321 §4.5.2: a period at the start of a line gets one more in front of it.
                    if (b == '.') Emit("."u8, output);
                    _state = State.InLine;
                    continue;
                default: // InLine
                    {
                        ReadOnlySpan<byte> rest = message[i..];
                        int stop = rest.IndexOfAny((byte)'\r', (byte)'\n');
                        int run = stop < 0 ? rest.Length : stop;
                        if (run > 0)
                        {
                            Emit(rest[..run], output);
                            _lineLength += run;
                            i += run;
                        }
                        if (stop < 0) return;
                        if (rest[stop] == '\r')
                        {
                            Emit("\r"u8, output);
                            _state = State.SawCr;
                        }
                        else
                        {
                            // A bare LF: sent as CRLF (RFC 5321 §2.3.8).
                            Emit("\r\n"u8, output);
                            RepairedLineEnds++;
                            EndLine();
                        }
                        i++;
                        continue;
                    }
            }
        }
    }

    /// <summary>Ends the message: a CRLF if the last line has none (a CR alone gets its LF), then <c>"." CRLF</c>
    /// (RFC 5321 §4.1.1.4).</summary>
    /// <param name="output">Where the encoded octets go.</param>
    /// <exception cref="InvalidOperationException"><see cref="Complete"/> was already called.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is <c>null</c>.</exception>
    public void Complete(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (Completed) throw new InvalidOperationException("The message data was already completed.");
        if (_state == State.SawCr)
        {
            // The message ends in a CR alone: completed to CRLF.
            Emit("\n.\r\n"u8, output);
            RepairedLineEnds++;
        }
        else if (_state == State.InLine)
        {
            Emit("\r\n.\r\n"u8, output);
        }
        else
        {
            Emit(".\r\n"u8, output);
        }
        EndLine();
        Completed = true;
    }

    private void EndLine()
    {
        if (_lineLength > LongestLine) LongestLine = _lineLength;
        _lineLength = 0;
        _state = State.LineStart;
    }

    private void Emit(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        output.Write(bytes);
        EncodedLength += bytes.Length;
    }
}
