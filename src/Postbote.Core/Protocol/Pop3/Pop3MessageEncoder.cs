namespace Postbote.Protocol.Pop3;

/// <summary>
/// Turns a stored message, fed chunk by chunk, into the multi-line response of RETR or TOP (RFC 1939 §3): every line
/// ends in CRLF (a stored bare LF becomes CRLF, a CRLF stays one), a line that starts with "." gets another "." in front
/// ("If any line begins with the termination octet, the line is "byte-stuffed" by pre-pending the termination octet to
/// that line of the response"), and <see cref="Finish"/> ends it with ".CRLF" ("the multi-line response is terminated
/// with the octet pair CRLF"), adding the CRLF of an unterminated last line first. For TOP it stops after the header, the
/// empty line and the requested number of body lines (RFC 1939 §7). Its state is carried across chunks, so a CR at the end
/// of one chunk and its LF at the start of the next are one line end. Allocates nothing.
/// </summary>
public struct Pop3MessageEncoder
{
    private bool _midLine;
    private bool _pendingCr;
    private bool _inBody;
    private long _bodyLinesLeft;

    /// <summary>Creates an encoder.</summary>
    /// <param name="bodyLines">The number of body lines after the header to send (TOP), or a negative number for the
    /// whole message (RETR).</param>
    public Pop3MessageEncoder(long bodyLines)
    {
        _bodyLinesLeft = bodyLines;
    }

    /// <summary>An encoder for the whole message (RETR).</summary>
    public static Pop3MessageEncoder WholeMessage => new(-1);

    /// <summary>Whether TOP's lines are all sent: further input is ignored.</summary>
    public bool IsComplete { get; private set; }

    /// <summary>The most octets <see cref="Encode"/> can write for an input of <paramref name="inputLength"/> octets
    /// (each octet can become two: LF → CRLF, a leading "." → "..") plus what <see cref="Finish"/> writes.</summary>
    /// <param name="inputLength">The chunk's length in octets.</param>
    /// <returns>The output space to provide, in octets.</returns>
    public static int MaxEncodedLength(int inputLength) => checked(2 * inputLength + 6);

    /// <summary>Encodes one chunk.</summary>
    /// <param name="input">The next octets of the stored message.</param>
    /// <param name="output">At least <see cref="MaxEncodedLength"/>(<paramref name="input"/>.Length) octets.</param>
    /// <returns>The octets written.</returns>
    /// <exception cref="ArgumentException"><paramref name="output"/> is shorter than <see cref="MaxEncodedLength"/>.</exception>
    public int Encode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (output.Length < MaxEncodedLength(input.Length)) throw new ArgumentException("output too short", nameof(output));
        int w = 0, i = 0;
        while (i < input.Length && !IsComplete)
        {
            if (_pendingCr)
            {
                _pendingCr = false;
                if (input[i] == '\n')
                {
                    i++;
                    w += EndLine(output[w..]);
                    continue;
                }
                output[w++] = (byte)'\r'; // a bare CR is data
                _midLine = true;
            }
            byte b = input[i];
            if (b == '\r')
            {
                _pendingCr = true;
                i++;
                continue;
            }
            if (b == '\n')
            {
                i++;
                w += EndLine(output[w..]);
                continue;
            }
            if (!_midLine && b == '.') output[w++] = (byte)'.';
            // Copy the rest of the line at once.
            ReadOnlySpan<byte> rest = input[i..];
            int end = rest.IndexOfAny((byte)'\r', (byte)'\n');
            if (end < 0) end = rest.Length;
            rest[..end].CopyTo(output[w..]);
            w += end;
            i += end;
            _midLine = true;
        }
        return w;
    }

    /// <summary>Ends the response: a pending CR, the CRLF of an unterminated last line, then ".CRLF".</summary>
    /// <param name="output">At least 6 octets.</param>
    /// <returns>The octets written.</returns>
    public int Finish(Span<byte> output)
    {
        int w = 0;
        if (_pendingCr && !IsComplete)
        {
            output[w++] = (byte)'\r';
            _midLine = true;
        }
        _pendingCr = false;
        if (_midLine && !IsComplete)
        {
            output[w++] = (byte)'\r';
            output[w++] = (byte)'\n';
        }
        output[w++] = (byte)'.';
        output[w++] = (byte)'\r';
        output[w++] = (byte)'\n';
        IsComplete = true;
        return w;
    }

    private int EndLine(Span<byte> output)
    {
        output[0] = (byte)'\r';
        output[1] = (byte)'\n';
        bool empty = !_midLine;
        _midLine = false;
        if (!_inBody)
        {
            if (empty)
            {
                _inBody = true;
                if (_bodyLinesLeft == 0) IsComplete = true;
            }
        }
        else if (_bodyLinesLeft > 0 && --_bodyLinesLeft == 0)
        {
            IsComplete = true;
        }
        return 2;
    }
}
