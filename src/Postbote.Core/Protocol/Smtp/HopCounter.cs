namespace Postbote.Protocol.Smtp;

/// <summary>
/// Counts the <c>Received:</c> header fields of a message's header section (RFC 5321 §6.3, loop detection), fed the
/// message octets chunk by chunk as they are stored (CRLF line ends, no dot-stuffing). Counting stops at the empty line
/// that ends the header section (RFC 5322 §2.1); a field name is matched case-insensitively at the start of a line that
/// is no continuation line (RFC 5322 §2.2.3: a folded line starts with a space or tab). Pure: no I/O, no allocation.
/// </summary>
/// <remarks>
/// RFC 5321 §6.3: "Simple counting of the number of "Received:" header fields in a message has proven to be an
/// effective, although rarely optimal, method of detecting loops in mail systems. SMTP servers using this technique
/// SHOULD use a large rejection threshold, normally at least 100 Received entries."
/// </remarks>
public struct HopCounter
{
    private static ReadOnlySpan<byte> Name => "received:"u8;

    // -1: inside a line that is not a candidate; 0..9: octets of "received:" matched at the start of this line.
    private int _match;
    private bool _lineStart;
    private bool _sawCr;
    private bool _emptyLine;

    /// <summary>Creates a counter positioned at the start of the message.</summary>
    public HopCounter()
    {
        _match = 0;
        _lineStart = true;
        _sawCr = false;
        _emptyLine = true;
        Count = 0;
        Done = false;
    }

    /// <summary>The <c>Received:</c> fields counted so far.</summary>
    public int Count { readonly get; private set; }

    /// <summary>Whether the end of the header section was seen: further octets are body and change nothing.</summary>
    public bool Done { readonly get; private set; }

    /// <summary>Counts the fields that start in <paramref name="chunk"/>, the next octets of the message.</summary>
    /// <param name="chunk">Message octets, in order; any split of the message is counted the same.</param>
    public void Feed(ReadOnlySpan<byte> chunk)
    {
        foreach (byte b in chunk)
        {
            if (Done) return;
            if (b == (byte)'\n')
            {
                // A line ends (CRLF, or a bare LF, which a stored message should not have but is counted as one).
                if (_emptyLine)
                {
                    Done = true;
                    return;
                }
                _lineStart = true;
                _emptyLine = true;
                _sawCr = false;
                _match = 0;
                continue;
            }
            if (b == (byte)'\r')
            {
                _sawCr = true;
                continue;
            }
            if (_sawCr)
            {
                // A bare CR inside a line: part of the line.
                _sawCr = false;
            }
            bool first = _lineStart;
            _lineStart = false;
            _emptyLine = false;
            if (first && b is (byte)' ' or (byte)'\t')
            {
                _match = -1; // a continuation line
                continue;
            }
            if (_match < 0) continue;
            byte lower = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;
            if (_match < Name.Length - 1 && lower == Name[_match])
            {
                _match++;
            }
            else if (_match == Name.Length - 1 && lower == (byte)':')
            {
                Count++;
                _match = -1;
            }
            else if (_match == Name.Length - 1 && b is (byte)' ' or (byte)'\t')
            {
                // RFC 5322 §4.5 (obsolete syntax) allows white space between the field name and the colon.
            }
            else
            {
                _match = -1;
            }
        }
    }

    /// <summary>Counts the <c>Received:</c> fields of a whole message or of its start.</summary>
    /// <param name="message">The message octets (or the start of them).</param>
    /// <returns>The number of <c>Received:</c> fields in its header section.</returns>
    public static int CountIn(ReadOnlySpan<byte> message)
    {
        var counter = new HopCounter();
        counter.Feed(message);
        return counter.Count;
    }
}
