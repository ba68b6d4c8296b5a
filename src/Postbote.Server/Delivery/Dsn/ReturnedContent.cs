using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Delivery.Dsn;

/// <summary>
/// What a notice carries back of the original (RFC 3462/6522 third part): the whole message, or its header section
/// only, read from the spool within a bound.
/// </summary>
/// <param name="Bytes">The returned bytes: the whole body, or the header section ending in CRLF (without the empty line
/// that separates it from the body).</param>
/// <param name="IsWhole">Whether <paramref name="Bytes"/> is the whole message (<c>message/rfc822</c>) rather than its
/// header section (<c>text/rfc822-headers</c>).</param>
internal sealed record ReturnedContent(byte[] Bytes, bool IsWhole)
{
    /// <summary>
    /// Reads what to return. The whole message when <paramref name="wantWhole"/>, it is at most
    /// <paramref name="maxWholeSize"/> bytes and it is no BINARYMIME body (which a <c>message/rfc822</c> part cannot carry,
    /// RFC 3030 §3); else the header section, at most <paramref name="maxHeaderSize"/> bytes, cut after its last complete
    /// line within that bound.
    /// </summary>
    /// <exception cref="IOException">The body cannot be read or is shorter than its envelope says.</exception>
    /// <exception cref="UnauthorizedAccessException">The body file cannot be read.</exception>
    public static ReturnedContent Read(SpoolEntry entry, bool wantWhole, long maxWholeSize, int maxHeaderSize)
    {
        using QueuedMessageStream message = entry.OpenMessage();
        long size = message.Length;
        if (wantWhole && size <= maxWholeSize && entry.Envelope.Body != BodyType.BinaryMime)
        {
            return new ReturnedContent(ReadExactly(message, (int)size), true);
        }
        byte[] head = ReadExactly(message, (int)Math.Min(size, maxHeaderSize));
        return new ReturnedContent(HeaderSection(head, complete: size <= maxHeaderSize), false);
    }

    private static byte[] ReadExactly(Stream message, int length)
    {
        var bytes = new byte[length];
        message.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>The header section of <paramref name="head"/> (RFC 5322 §2.1: header fields, then an empty line, then the
    /// body): up to and including the CRLF of its last field. Without an empty line, all complete lines; when
    /// <paramref name="complete"/> (the whole message is in <paramref name="head"/>), a last line without CRLF too, with
    /// CRLF added.</summary>
    internal static byte[] HeaderSection(ReadOnlySpan<byte> head, bool complete)
    {
        if (head.StartsWith("\r\n"u8)) return [];
        int end = head.IndexOf("\r\n\r\n"u8);
        if (end >= 0) return head[..(end + 2)].ToArray();
        int last = head.LastIndexOf("\r\n"u8);
        if (complete && last + 2 < head.Length) return [.. head, (byte)'\r', (byte)'\n'];
        return last < 0 ? [] : head[..(last + 2)].ToArray();
    }
}
