namespace Postbote.Dkim;

/// <summary>
/// The "relaxed" body canonicalization (RFC 6376 §3.4.4) under a <see cref="DkimBodyHash"/>: whitespace runs in a line
/// become one SP, whitespace at line ends is dropped, empty lines at the end are dropped, and a non-empty body ends in
/// one CRLF. State is carried across chunks.
/// </summary>
/// <remarks>Line ends are CRLF; a lone LF also ends a line (a sender writing DATA turns it into CRLF). An empty body
/// hashes as the empty string (RFC 6376 erratum 3192, as dkimpy and OpenDKIM do).</remarks>
internal sealed class RelaxedBodyHash : DkimBodyHash
{
    private static readonly System.Buffers.SearchValues<byte> Special = System.Buffers.SearchValues.Create("\r\n \t"u8);
    private long _pendingLineEnds;   // CRLFs seen since the last octet written (not yet known not to be trailing)
    private bool _pendingSpace;      // whitespace seen in this line since the last octet written
    private bool _lineHasContent;    // a non-whitespace octet in this line
    private bool _anyContent;        // anything written at all
    private bool _cr;                // the last octet was a CR

    /// <summary>Creates the hash.</summary>
    /// <param name="limit">The most canonical octets hashed (<c>l=</c>), or −1 for the whole body.</param>
    public RelaxedBodyHash(long limit = -1) : base(limit)
    {
    }

    /// <inheritdoc />
    public override void Append(ReadOnlySpan<byte> chunk)
    {
        while (!chunk.IsEmpty)
        {
            byte b = chunk[0];
            if (_cr)
            {
                _cr = false;
                if (b == (byte)'\n')
                {
                    EndLine();
                    chunk = chunk[1..];
                    continue;
                }
                Content("\r"u8);
            }
            switch (b)
            {
                case (byte)'\r':
                    _cr = true;
                    chunk = chunk[1..];
                    break;
                case (byte)'\n':
                    EndLine();
                    chunk = chunk[1..];
                    break;
                case (byte)' ':
                case (byte)'\t':
                    _pendingSpace = true;
                    chunk = chunk[1..];
                    break;
                default:
                    // A run of ordinary octets up to the next CR, LF, SP or HTAB is content, written at once.
                    int n = chunk.IndexOfAny(Special);
                    if (n < 0) n = chunk.Length;
                    Content(chunk[..n]);
                    chunk = chunk[n..];
                    break;
            }
        }
    }

    /// <inheritdoc />
    protected override void End()
    {
        if (_cr)
        {
            _cr = false;
            Content("\r"u8);
        }
        // "If the body is non-empty but does not end with a CRLF, a CRLF is added"; trailing empty lines are ignored.
        if (_anyContent && (_lineHasContent || _pendingLineEnds > 0)) Write(Crlf);
    }

    private void EndLine()
    {
        _pendingSpace = false;
        _lineHasContent = false;
        _pendingLineEnds++;
    }

    private void Content(ReadOnlySpan<byte> octets)
    {
        // The line ends before this octet are not trailing (empty lines before the first content count too).
        for (; _pendingLineEnds > 0; _pendingLineEnds--) Write(Crlf);
        if (_pendingSpace)
        {
            _pendingSpace = false;
            Write(" "u8);
        }
        Write(octets);
        _lineHasContent = true;
        _anyContent = true;
    }
}
