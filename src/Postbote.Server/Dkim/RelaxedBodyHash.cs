using System.Security.Cryptography;

namespace Postbote.Dkim;

/// <summary>
/// The SHA-256 hash of a body in the "relaxed" body canonicalization (RFC 6376 §3.4.4), fed chunk by chunk so a body of
/// any size is hashed without being held: whitespace runs in a line become one SP, whitespace at line ends is dropped,
/// empty lines at the end are dropped, and a non-empty body ends in one CRLF. State is carried across chunks.
/// </summary>
/// <remarks>Line ends are CRLF; a lone LF also ends a line (a sender writing DATA turns it into CRLF). An empty body
/// hashes as the empty string (RFC 6376 erratum 3192, as dkimpy and OpenDKIM do).</remarks>
internal sealed class RelaxedBodyHash : IDisposable
{
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _out = new byte[8192];
    private int _used;
    private long _pendingLineEnds;   // CRLFs seen since the last octet written (not yet known not to be trailing)
    private bool _pendingSpace;      // whitespace seen in this line since the last octet written
    private bool _lineHasContent;    // a non-whitespace octet in this line
    private bool _anyContent;        // anything written at all
    private bool _cr;                // the last octet was a CR

    /// <summary>The body octets hashed so far, in canonical form.</summary>
    public long CanonicalLength { get; private set; }

    /// <summary>Adds the next octets of the body.</summary>
    /// <param name="chunk">The octets.</param>
    public void Append(ReadOnlySpan<byte> chunk)
    {
        foreach (byte b in chunk)
        {
            if (_cr)
            {
                _cr = false;
                if (b == (byte)'\n')
                {
                    EndLine();
                    continue;
                }
                Content((byte)'\r');
            }
            switch (b)
            {
                case (byte)'\r':
                    _cr = true;
                    break;
                case (byte)'\n':
                    EndLine();
                    break;
                case (byte)' ':
                case (byte)'\t':
                    _pendingSpace = true;
                    break;
                default:
                    Content(b);
                    break;
            }
        }
    }

    /// <summary>Ends the body and gives its hash (the <c>bh=</c> value before base64).</summary>
    /// <returns>32 bytes.</returns>
    public byte[] Complete()
    {
        if (_cr)
        {
            _cr = false;
            Content((byte)'\r');
        }
        // "If the body is non-empty but does not end with a CRLF, a CRLF is added"; trailing empty lines are ignored.
        if (_anyContent && (_lineHasContent || _pendingLineEnds > 0)) Write(Crlf);
        Flush();
        return _hash.GetHashAndReset();
    }

    private void EndLine()
    {
        _pendingSpace = false;
        _lineHasContent = false;
        _pendingLineEnds++;
    }

    private void Content(byte b)
    {
        // The line ends before this octet are not trailing (empty lines before the first content count too).
        for (; _pendingLineEnds > 0; _pendingLineEnds--) Write(Crlf);
        if (_pendingSpace)
        {
            _pendingSpace = false;
            Write(" "u8);
        }
        Write([b]);
        _lineHasContent = true;
        _anyContent = true;
    }

    private void Write(ReadOnlySpan<byte> octets)
    {
        if (_used + octets.Length > _out.Length) Flush();
        octets.CopyTo(_out.AsSpan(_used));
        _used += octets.Length;
        CanonicalLength += octets.Length;
    }

    private void Flush()
    {
        if (_used == 0) return;
        _hash.AppendData(_out, 0, _used);
        _used = 0;
    }

    /// <summary>Releases the hash.</summary>
    public void Dispose() => _hash.Dispose();
}
