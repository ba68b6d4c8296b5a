using System.Buffers;

namespace Postbote.Dkim;

/// <summary>
/// The header section of a message read from the front of a stream (RFC 5322 §2.1: "a header section ... followed by
/// an empty line ... followed by the body"), and the body octets that came with the last read, so the caller goes on
/// with the body where the header section ended without reading anything twice.
/// </summary>
/// <param name="Section">The header section without the empty line that ends it (the whole message when it has no
/// empty line).</param>
/// <param name="Complete">Whether an empty line ended the section (false: the message has no body).</param>
/// <param name="BodyStart">Where in the caller's buffer the first body octets are.</param>
/// <param name="BodyLength">How many body octets the buffer holds from <paramref name="BodyStart"/>.</param>
internal readonly record struct MessageHead(ReadOnlyMemory<byte> Section, bool Complete, int BodyStart, int BodyLength)
{
    /// <summary>Reads a header section.</summary>
    /// <param name="message">The message, read forward from its first octet.</param>
    /// <param name="buffer">The read buffer; the first body octets are left in it.</param>
    /// <param name="max">The most header octets read (count).</param>
    /// <param name="cancellationToken">Stops the reading.</param>
    /// <returns>The head, or <c>null</c> when the header section is longer than <paramref name="max"/>.</returns>
    /// <exception cref="IOException">The stream cannot be read.</exception>
    public static async Task<MessageHead?> ReadAsync(Stream message, byte[] buffer, int max, CancellationToken cancellationToken)
    {
        int n = await message.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        // The usual case: the whole header section came with the first read; it is copied once, at its size.
        int end = FindEnd(buffer.AsSpan(0, n), 0);
        if (end >= 0) return new MessageHead(buffer.AsSpan(0, end).ToArray(), true, end + 2, n - end - 2);
        if (n == 0) return new MessageHead(ReadOnlyMemory<byte>.Empty, false, 0, 0);
        var header = new ArrayBufferWriter<byte>(Math.Min(max, n * 2));
        header.Write(buffer.AsSpan(0, n));
        while (true)
        {
            if (header.WrittenCount > max) return null;
            n = await message.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0) return new MessageHead(header.WrittenMemory, false, 0, 0);
            int searchFrom = Math.Max(0, header.WrittenCount - 3);
            header.Write(buffer.AsSpan(0, n));
            end = FindEnd(header.WrittenSpan, searchFrom);
            if (end >= 0)
            {
                // The octets of this read after the empty line are the body's first.
                int bodyStart = end + 2 - (header.WrittenCount - n);
                return new MessageHead(header.WrittenMemory[..end], true, bodyStart, n - bodyStart);
            }
        }
    }

    /// <summary>The index of the CRLF that ends the last header line when followed by the empty line (the CRLF CRLF),
    /// pointing at its second CRLF; 0 for a message that starts with an empty line; −1 when not found yet.</summary>
    private static int FindEnd(ReadOnlySpan<byte> s, int from)
    {
        if (s.Length >= 2 && s[0] == '\r' && s[1] == '\n') return 0;
        int i = s[from..].IndexOf("\r\n\r\n"u8);
        return i < 0 ? -1 : from + i + 2;
    }
}
