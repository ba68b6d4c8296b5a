namespace Postbote.Dkim;

/// <summary>
/// The "simple" body canonicalization (RFC 6376 §3.4.3) under a <see cref="DkimBodyHash"/>: "The "simple" body
/// canonicalization algorithm ignores all empty lines at the end of the message body. An empty line is a line of zero
/// length after removal of the line terminator. If there is no body or no trailing CRLF on the message body, a CRLF is
/// added. It makes no other changes to the message body." CRLFs are held back until an octet after them shows they
/// are not trailing; every other octet, a lone CR or LF too, is written as it is.
/// </summary>
internal sealed class SimpleBodyHash : DkimBodyHash
{
    private long _pendingLineEnds;   // CRLFs not yet known not to be trailing
    private bool _cr;                // the last octet was a CR, not yet known to start a CRLF

    /// <summary>Creates the hash.</summary>
    /// <param name="limit">The most canonical octets hashed (<c>l=</c>), or −1 for the whole body.</param>
    public SimpleBodyHash(long limit = -1) : base(limit)
    {
    }

    /// <inheritdoc />
    public override void Append(ReadOnlySpan<byte> chunk)
    {
        while (!chunk.IsEmpty)
        {
            if (_cr)
            {
                _cr = false;
                if (chunk[0] == (byte)'\n')
                {
                    _pendingLineEnds++;
                    chunk = chunk[1..];
                    continue;
                }
                Content("\r"u8);
            }
            if (chunk[0] == (byte)'\r')
            {
                _cr = true;
                chunk = chunk[1..];
                continue;
            }
            // A run of octets up to the next CR: all content (a lone LF included).
            int cr = chunk.IndexOf((byte)'\r');
            int n = cr < 0 ? chunk.Length : cr;
            Content(chunk[..n]);
            chunk = chunk[n..];
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
        // Trailing CRLFs: the first ends the last line, the others are empty lines and dropped; a body without a final
        // CRLF gets one, and so does an empty body. In every case exactly one CRLF ends the canonical body.
        Write(Crlf);
    }

    private void Content(ReadOnlySpan<byte> octets)
    {
        for (; _pendingLineEnds > 0; _pendingLineEnds--) Write(Crlf);
        Write(octets);
    }
}
