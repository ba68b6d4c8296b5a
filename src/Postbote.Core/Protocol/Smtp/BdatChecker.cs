namespace Postbote.Protocol.Smtp;

/// <summary>
/// Checks BDAT chunk bytes (RFC 3030 §2) for the same faults as <see cref="DataDecoder"/>: bare CR or LF and text lines
/// over 1000 octets, which are allowed only with <c>BODY=BINARYMIME</c> (RFC 3030 §3). State carries across chunks.
/// </summary>
public struct BdatChecker
{
    private bool _sawCr;
    private int _lineLength;
    private readonly bool _binary;
    private readonly int _maxLine;

    /// <summary>Creates a checker for one message.</summary>
    /// <param name="binary">Whether the message is <c>BODY=BINARYMIME</c>: nothing is checked then.</param>
    /// <param name="maxLineLength">Longest text line in octets including CRLF (RFC 5321 §4.5.3.1.6: 1000).</param>
    public BdatChecker(bool binary, int maxLineLength = 1000)
    {
        _binary = binary;
        _maxLine = maxLineLength - 2;
        _sawCr = false;
        _lineLength = 0;
        Faults = DataFaults.None;
    }

    /// <summary>The faults seen so far.</summary>
    public DataFaults Faults { readonly get; private set; }

    /// <summary>Checks the next bytes of the message.</summary>
    /// <param name="chunk">Chunk bytes, in order.</param>
    public void Check(ReadOnlySpan<byte> chunk)
    {
        if (_binary) return;
        int i = 0;
        while (i < chunk.Length)
        {
            if (_sawCr)
            {
                _sawCr = false;
                if (chunk[i] == '\n') { _lineLength = 0; i++; continue; }
                Faults |= DataFaults.BareCarriageReturn;
            }
            ReadOnlySpan<byte> rest = chunk[i..];
            int stop = rest.IndexOfAny((byte)'\r', (byte)'\n');
            int run = stop < 0 ? rest.Length : stop;
            _lineLength += run;
            if (_lineLength > _maxLine) Faults |= DataFaults.LineTooLong;
            i += run;
            if (stop < 0) return;
            if (rest[stop] == '\r') _sawCr = true;
            else Faults |= DataFaults.BareLineFeed;
            i++;
        }
    }

    /// <summary>Reports a CR that was the last byte of the message as a bare CR.</summary>
    public void Finish()
    {
        if (_sawCr && !_binary) Faults |= DataFaults.BareCarriageReturn;
        _sawCr = false;
    }
}
