using System.Globalization;
using System.Text;

namespace Postbote.Testing.Smtp;

/// <summary>
/// The message-transfer steps of <see cref="SmtpConnection"/> (DATA with dot-stuffing, BDAT chunks) and the octet-exact
/// exchange that transcript tests use, where a string stands for its octets one char each (Latin-1).
/// </summary>
public sealed partial class SmtpConnection
{
    private static readonly TimeSpan DataReplyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <paramref name="content"/> framed for DATA: every line that starts with "." gets another "." (RFC 5321 §4.5.2),
    /// then the end-of-data line. The content must end with CRLF.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="content"/> does not end with CRLF.</exception>
    public static byte[] DotStuff(byte[] content)
    {
        if (content.Length < 2 || content[^2] != '\r' || content[^1] != '\n')
        {
            throw new ArgumentException("content must end with CRLF", nameof(content));
        }

        var framed = new List<byte>(content.Length + 16);
        var atLineStart = true;
        foreach (var b in content)
        {
            if (atLineStart && b == '.')
            {
                framed.Add((byte)'.');
            }

            framed.Add(b);
            atLineStart = b == '\n';
        }

        framed.AddRange(".\r\n"u8.ToArray());
        return framed.ToArray();
    }

    /// <summary>
    /// After the server's 354 to DATA: sends <paramref name="content"/> dot-stuffed with the end-of-data line (see
    /// <see cref="DotStuff"/>) in one write and reads the reply to it.
    /// </summary>
    /// <param name="content">The message, ending with CRLF.</param>
    /// <param name="timeout">How long to wait for the reply; 30 s when null.</param>
    /// <exception cref="ArgumentException"><paramref name="content"/> does not end with CRLF.</exception>
    public async Task<SmtpResponse> SendDataAsync(byte[] content, TimeSpan? timeout = null)
    {
        await SendAsync(DotStuff(content));
        return await ReadReplyAsync(timeout ?? DataReplyTimeout);
    }

    /// <summary>
    /// Sends one BDAT chunk (RFC 3030 §2): <c>BDAT</c> SP the chunk's size in octets [SP <c>LAST</c>] CRLF, then the
    /// chunk's octets unchanged, in one write; reads the one reply the server gives to it.
    /// </summary>
    /// <param name="chunk">The octets of the chunk, sent as they are (no dot-stuffing, no line-end rules).</param>
    /// <param name="last">Whether this is the last chunk of the message.</param>
    /// <param name="timeout">How long to wait for the reply; 30 s when null.</param>
    public async Task<SmtpResponse> BdatAsync(ReadOnlyMemory<byte> chunk, bool last = false, TimeSpan? timeout = null)
    {
        var command = string.Create(CultureInfo.InvariantCulture, $"BDAT {chunk.Length}{(last ? " LAST" : string.Empty)}\r\n");
        await SendAsync([.. Encoding.ASCII.GetBytes(command), .. chunk.Span]);
        return await ReadReplyAsync(timeout ?? DataReplyTimeout);
    }

    /// <summary>
    /// Sends <paramref name="octets"/> exactly, one octet per char (Latin-1, so any octet can be written, and UTF-8 goes
    /// as its octets spelled one char each), then reads <paramref name="replies"/> complete replies.
    /// </summary>
    /// <returns>What <see cref="ReadRepliesAsync"/> returns; the empty string when <paramref name="replies"/> is 0.</returns>
    /// <exception cref="TimeoutException">A reply did not come within 15 s; the message holds the transcript.</exception>
    /// <exception cref="ArgumentException"><paramref name="octets"/> holds a char above U+00FF.</exception>
    public async Task<string> ExchangeAsync(string octets, int replies = 1)
    {
        if (octets.Any(c => c > '\u00ff'))
        {
            throw new ArgumentException("only chars U+0000 to U+00FF stand for octets", nameof(octets));
        }

        await SendAsync(Encoding.Latin1.GetBytes(octets));
        return replies == 0 ? string.Empty : await ReadRepliesAsync(replies);
    }

    /// <summary>
    /// Reads <paramref name="count"/> complete (possibly multi-line) replies, each within 15 s, and returns their octets
    /// one char each (Latin-1), joined. When the server closes first, what it sent is followed by <c>&lt;closed&gt;</c>.
    /// </summary>
    /// <exception cref="TimeoutException">A reply did not come within 15 s; the message holds the transcript.</exception>
    public async Task<string> ReadRepliesAsync(int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var reply = await ReadReplyAsync();
            text.Append(Encoding.Latin1.GetString(reply.Bytes));
            if (reply.Closed)
            {
                return text.Append("<closed>").ToString();
            }

            if (reply.TimedOut)
            {
                throw new TimeoutException($"reply {i + 1} of {count} did not come within {DefaultReplyTimeout.TotalSeconds} s\n{Transcript}");
            }
        }

        return text.ToString();
    }
}
