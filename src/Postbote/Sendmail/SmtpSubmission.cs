using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postbote.Host.Sendmail;

/// <summary>
/// Hands one message to the local server over SMTP (RFC 5321): EHLO, MAIL FROM (with BODY=8BITMIME when the message has
/// 8-bit octets and the server offers it), one RCPT TO per recipient, DATA with the message dot-stuffed (§4.5.2:
/// "Before sending a line of mail text, the SMTP client checks the first character of the line. If it is a period, one
/// additional period is inserted at the beginning of the line."), QUIT. Every read is bounded by a timeout.
/// </summary>
public static class SmtpSubmission
{
    /// <summary>How long connecting and each reply may take: 60 seconds.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The outcome of <see cref="SubmitAsync"/>.</summary>
    /// <param name="Accepted">Whether the server took the message (250 after the data).</param>
    /// <param name="Reply">The server's last reply (the 250 with the queue ID, or the refusal), one line.</param>
    /// <param name="Temporary">Whether a refusal was temporary (4xx).</param>
    public sealed record Result(bool Accepted, string Reply, bool Temporary);

    /// <summary>Connects to the server; <c>null</c> when nothing listens (refused or timed out), which sends the message
    /// to the pickup folder instead.</summary>
    /// <param name="endPoint">The server's first <c>smtp.listen</c> address (a wildcard address is taken as
    /// loopback).</param>
    /// <param name="cancellationToken">Cancels the connection.</param>
    /// <returns>The connected socket, or <c>null</c>.</returns>
    public static async Task<Socket?> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        IPAddress address = endPoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : endPoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : endPoint.Address;
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, endPoint.Port), timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>Sends the message over a connected socket.</summary>
    /// <param name="socket">The connection; closed when done.</param>
    /// <param name="helo">The name for EHLO.</param>
    /// <param name="message">Envelope and message.</param>
    /// <param name="cancellationToken">Cancels the dialog.</param>
    /// <returns>Whether the server took it, with its reply.</returns>
    /// <exception cref="IOException">The connection broke or a reply did not come in time.</exception>
    public static async Task<Result> SubmitAsync(Socket socket, string helo, PickupFile message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(message);
        using var stream = new NetworkStream(socket, ownsSocket: true);
        using var reader = new StreamReader(stream, Encoding.Latin1, false, 4096, leaveOpen: true);
        string greeting = await ReplyAsync(reader, cancellationToken).ConfigureAwait(false);
        if (!greeting.StartsWith("220", StringComparison.Ordinal)) return Refused(greeting);
        string ehlo = await CommandAsync(stream, reader, $"EHLO {helo}", cancellationToken).ConfigureAwait(false);
        if (!ehlo.StartsWith("250", StringComparison.Ordinal)) return Refused(ehlo);
        bool eightBit = message.Message.AsSpan().ContainsAnyExceptInRange((byte)0, (byte)0x7F);
        string body = eightBit && ehlo.Contains("8BITMIME", StringComparison.OrdinalIgnoreCase) ? " BODY=8BITMIME" : "";
        string reply = await CommandAsync(stream, reader, $"MAIL FROM:<{message.Sender}>{body}", cancellationToken).ConfigureAwait(false);
        if (!reply.StartsWith('2')) return await QuitAsync(stream, reader, reply, cancellationToken).ConfigureAwait(false);
        foreach (string r in message.Recipients)
        {
            reply = await CommandAsync(stream, reader, $"RCPT TO:<{r}>", cancellationToken).ConfigureAwait(false);
            if (!reply.StartsWith('2')) return await QuitAsync(stream, reader, $"<{r}>: {reply}", cancellationToken).ConfigureAwait(false);
        }
        reply = await CommandAsync(stream, reader, "DATA", cancellationToken).ConfigureAwait(false);
        if (!reply.StartsWith("354", StringComparison.Ordinal)) return await QuitAsync(stream, reader, reply, cancellationToken).ConfigureAwait(false);
        await stream.WriteAsync(DotStuff(message.Message), cancellationToken).ConfigureAwait(false);
        reply = await ReplyAsync(reader, cancellationToken).ConfigureAwait(false);
        bool accepted = reply.StartsWith("250", StringComparison.Ordinal);
        try
        {
            await CommandAsync(stream, reader, "QUIT", cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The message is queued; a lost 221 changes nothing.
        }
        return accepted ? new Result(true, reply, false) : Refused(reply);
    }

    /// <summary>The message with dots doubled at line starts and the closing <c>CRLF.CRLF</c>.</summary>
    /// <param name="message">The message, CRLF line ends.</param>
    /// <returns>The DATA octets.</returns>
    public static byte[] DotStuff(ReadOnlySpan<byte> message)
    {
        using var s = new MemoryStream(message.Length + 64);
        bool lineStart = true;
        foreach (byte b in message)
        {
            if (lineStart && b == (byte)'.') s.WriteByte((byte)'.');
            s.WriteByte(b);
            lineStart = b == (byte)'\n';
        }
        if (!lineStart) s.Write("\r\n"u8);
        s.Write(".\r\n"u8);
        return s.ToArray();
    }

    private static Result Refused(string reply) => new(false, reply, reply.StartsWith('4'));

    private static async Task<Result> QuitAsync(Stream stream, StreamReader reader, string reply, CancellationToken cancellationToken)
    {
        try
        {
            await CommandAsync(stream, reader, "QUIT", cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // Refused already; the reason is the reply before.
        }
        return Refused(reply);
    }

    private static async Task<string> CommandAsync(Stream stream, StreamReader reader, string command, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"), cancellationToken).ConfigureAwait(false);
        return await ReplyAsync(reader, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One reply, its lines joined by spaces (RFC 5321 §4.2.1: "xyz-" continues, "xyz " ends).</summary>
    private static async Task<string> ReplyAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var text = new StringBuilder();
        for (int lines = 0; lines < 100; lines++)
        {
            string? line;
            try
            {
                line = await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"no reply within {Timeout.TotalSeconds} s");
            }
            if (line is null) throw new IOException("the server closed the connection");
            if (text.Length > 0) text.Append(' ');
            text.Append(line);
            if (line.Length < 4 || line[3] != '-') return text.ToString();
        }
        throw new IOException("a reply of more than 100 lines");
    }
}
