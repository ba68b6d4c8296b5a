namespace Postbote.MailStore;

/// <summary>
/// Line-end conversion from SMTP's CRLF (RFC 5321 §2.3.8) to the LF that Maildir files store by convention (as
/// Postfix, Dovecot's LDA, qmail and Exim write them), done chunk by chunk while a body is copied.
/// </summary>
internal static class LineEnds
{
    /// <summary>Copies a chunk of a body whose lines end in CRLF with the CR of every CRLF left out; a CR at the end of a
    /// chunk is held back until the next chunk shows whether LF follows. A CR not followed by LF is kept.</summary>
    /// <param name="chunk">The chunk as read from the spool.</param>
    /// <param name="output">Where the converted bytes go; at least one byte longer than <paramref name="chunk"/>.</param>
    /// <param name="pendingCr">Whether the previous chunk ended in a CR that was held back; updated.</param>
    /// <param name="last">Whether this is the last chunk (a held-back CR is then written).</param>
    /// <returns>The number of bytes written to <paramref name="output"/>.</returns>
    public static int DropCarriageReturns(ReadOnlySpan<byte> chunk, Span<byte> output, ref bool pendingCr, bool last)
    {
        int w = 0;
        if (pendingCr && (chunk.IsEmpty || chunk[0] != (byte)'\n')) output[w++] = (byte)'\r';
        pendingCr = false;
        int r = 0;
        while (r < chunk.Length)
        {
            int cr = chunk[r..].IndexOf((byte)'\r');
            if (cr < 0)
            {
                chunk[r..].CopyTo(output[w..]);
                w += chunk.Length - r;
                break;
            }
            chunk.Slice(r, cr).CopyTo(output[w..]);
            w += cr;
            r += cr + 1;
            if (r < chunk.Length)
            {
                if (chunk[r] != (byte)'\n') output[w++] = (byte)'\r';
            }
            else if (last)
            {
                output[w++] = (byte)'\r';
            }
            else
            {
                pendingCr = true;
            }
        }
        return w;
    }
}
