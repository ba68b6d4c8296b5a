using System.Buffers;
using System.IO.Pipelines;
using Postbote.Core;

namespace Postbote.Smtp;

/// <summary>
/// Writes SMTP replies (RFC 5321 §4.2) to a connection: <c>code SP [enhanced-code SP] text CRLF</c>, with <c>code-</c>
/// on every line but the last of a multi-line reply (§4.2.1). The single place where replies become octets.
/// </summary>
internal static class ReplyWriter
{
    /// <summary>Appends a reply to the writer without flushing.</summary>
    /// <param name="writer">The connection's writer.</param>
    /// <param name="reply">The reply.</param>
    /// <returns>The number of octets written.</returns>
    public static int Write(PipeWriter writer, SmtpReply reply)
    {
        int total = 0;
        for (int i = 0; i < reply.Lines.Count; i++)
        {
            string text = reply.Lines[i];
            int max = 4 + 12 + text.Length + 2;
            Span<byte> span = writer.GetSpan(max);
            int n = 0;
            int code = (int)reply.Code;
            span[n++] = (byte)('0' + code / 100);
            span[n++] = (byte)('0' + code / 10 % 10);
            span[n++] = (byte)('0' + code % 10);
            span[n++] = (byte)(i == reply.Lines.Count - 1 ? ' ' : '-');
            if (reply.Status is { } s)
            {
                n += WriteNumber(span[n..], s.Class); span[n++] = (byte)'.';
                n += WriteNumber(span[n..], s.Subject); span[n++] = (byte)'.';
                n += WriteNumber(span[n..], s.Detail); span[n++] = (byte)' ';
            }
            foreach (char c in text) span[n++] = c is >= ' ' and < (char)127 ? (byte)c : (byte)'?';
            span[n++] = (byte)'\r';
            span[n++] = (byte)'\n';
            writer.Advance(n);
            total += n;
        }
        return total;
    }

    private static int WriteNumber(Span<byte> span, int value)
    {
        value.TryFormat(span, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        return written;
    }
}
