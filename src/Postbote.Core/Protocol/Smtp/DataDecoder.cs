using System.Buffers;

namespace Postbote.Protocol.Smtp;

/// <summary>
/// Decodes the DATA stream (RFC 5321 §4.1.1.4, §4.5.2): finds the end of data, which is only <c>CRLF "." CRLF</c>
/// (the CRLF before the dot may be the one that ended the DATA command), removes the transparency dot (§4.5.2: "If the
/// first character is a period and there are other characters on the line, the first character is deleted"), and
/// records faults without stopping: bare CR or LF, text lines over 1000 octets, and data past the size limit. Bytes past
/// the size limit are counted but not written, so memory stays bounded whatever the client sends. Pure: no I/O.
/// </summary>
public struct DataDecoder
{
    private enum State : byte { LineStart, InLine, SawCr, Dot, DotCr }

    private State _state;
    private int _lineLength;
    private long _written;
    private readonly long _limit;
    private readonly int _maxLine;

    /// <summary>Creates a decoder positioned at the start of the data (right after the 354 reply).</summary>
    /// <param name="sizeLimit">Message size limit in bytes; decoded bytes beyond it are discarded and
    /// <see cref="DataFaults.TooBig"/> is set.</param>
    /// <param name="maxLineLength">Longest text line in octets including CRLF (RFC 5321 §4.5.3.1.6: 1000).</param>
    public DataDecoder(long sizeLimit, int maxLineLength = 1000)
    {
        _state = State.LineStart;
        _limit = sizeLimit;
        _maxLine = maxLineLength - 2;
        _lineLength = 0;
        _written = 0;
        Faults = DataFaults.None;
        Completed = false;
    }

    /// <summary>The faults seen so far.</summary>
    public DataFaults Faults { readonly get; private set; }

    /// <summary>Whether the end-of-data line was seen.</summary>
    public bool Completed { readonly get; private set; }

    /// <summary>Decoded bytes so far, including any discarded past the limit, in bytes.</summary>
    public readonly long DecodedLength => _written;

    /// <summary>
    /// Decodes as much of <paramref name="input"/> as belongs to the message and appends the unstuffed bytes to
    /// <paramref name="output"/> (up to the size limit).
    /// </summary>
    /// <param name="input">Bytes received from the client.</param>
    /// <param name="output">Where decoded message bytes go.</param>
    /// <returns>Octets of <paramref name="input"/> consumed; when <see cref="Completed"/> is set, the bytes after that
    /// belong to the next command.</returns>
    public int Decode(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
    {
        int i = 0;
        while (i < input.Length)
        {
            byte b = input[i];
            switch (_state)
            {
                case State.LineStart:
                    if (b == '.') { _state = State.Dot; i++; continue; }
                    _state = State.InLine;
                    continue;
                case State.Dot:
                    if (b == '\r') { _state = State.DotCr; i++; continue; }
                    // ".x": the transparency dot is removed; the rest of the line is text.
                    _lineLength = 0;
                    _state = State.InLine;
                    continue;
                case State.DotCr:
                    if (b == '\n') { i++; Completed = true; return i; }
                    // ".\rX": a lone dot followed by a bare CR; keep the CR as text and flag it.
                    Faults |= DataFaults.BareCarriageReturn;
                    Emit("\r"u8, output);
                    _state = State.InLine;
                    continue;
                case State.SawCr:
                    if (b == '\n')
                    {
                        Emit("\r\n"u8, output);
                        i++;
                        _lineLength = 0;
                        _state = State.LineStart;
                        continue;
                    }
                    Faults |= DataFaults.BareCarriageReturn;
                    Emit("\r"u8, output);
                    _lineLength++;
                    _state = State.InLine;
                    continue;
                default: // InLine
                {
                    ReadOnlySpan<byte> rest = input[i..];
                    int stop = rest.IndexOfAny((byte)'\r', (byte)'\n');
                    int run = stop < 0 ? rest.Length : stop;
                    if (run > 0)
                    {
                        Emit(rest[..run], output);
                        _lineLength += run;
                        if (_lineLength > _maxLine) Faults |= DataFaults.LineTooLong;
                        i += run;
                    }
                    if (stop < 0) return i;
                    if (rest[stop] == '\r') { _state = State.SawCr; i++; continue; }
                    // A bare LF: flagged; it does not start a new line, so "\n.\n" or "\n.\r\n" never ends the data.
                    Faults |= DataFaults.BareLineFeed;
                    Emit("\n"u8, output);
                    _lineLength++;
                    i++;
                    continue;
                }
            }
        }
        return i;
    }

    private void Emit(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        long room = _limit - _written;
        _written += bytes.Length;
        if (room <= 0) { Faults |= DataFaults.TooBig; return; }
        if (bytes.Length > room) { Faults |= DataFaults.TooBig; bytes = bytes[..(int)room]; }
        output.Write(bytes);
    }
}
