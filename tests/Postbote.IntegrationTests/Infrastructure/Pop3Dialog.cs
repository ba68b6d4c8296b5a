using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// A raw POP3 client over real TCP for exact-byte tests: clear text, implicit TLS, STLS; status lines and multi-line
/// responses read as octets with a time limit; a C:/S: transcript for failure messages.
/// </summary>
public sealed class Pop3Dialog : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly TcpClient tcp;
    private readonly StringBuilder transcript = new();
    private Stream stream;
    private byte[] pending = [];

    private Pop3Dialog(TcpClient tcp, Stream stream)
    {
        this.tcp = tcp;
        this.stream = stream;
    }

    /// <summary>The greeting line.</summary>
    public string Greeting { get; private set; } = string.Empty;

    /// <summary>What was said so far.</summary>
    public string Transcript => transcript.ToString();

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>, with TLS from the start when <paramref name="tls"/>, and
    /// reads the greeting.</summary>
    public static async Task<Pop3Dialog> ConnectAsync(int port, bool tls)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port).WaitAsync(Timeout);
        Stream s = tcp.GetStream();
        var dialog = new Pop3Dialog(tcp, s);
        if (tls)
        {
            await dialog.HandshakeAsync();
        }

        dialog.Greeting = await dialog.ReadLineAsync();
        return dialog;
    }

    /// <summary>STLS: expects +OK, then the TLS handshake.</summary>
    public async Task StartTlsAsync()
    {
        Assert.StartsWith("+OK", await CommandAsync("STLS"), StringComparison.Ordinal);
        await HandshakeAsync();
    }

    /// <summary>USER and PASS; returns the reply to PASS.</summary>
    public async Task<string> LoginAsync(string user, string password)
    {
        Assert.StartsWith("+OK", await CommandAsync("USER " + user), StringComparison.Ordinal);
        return await CommandAsync("PASS " + password, "PASS ***");
    }

    /// <summary>Sends one line (CRLF added) and reads the status line.</summary>
    public async Task<string> CommandAsync(string line, string? logged = null)
    {
        await SendRawAsync(Encoding.UTF8.GetBytes(line + "\r\n"), logged ?? line);
        return await ReadLineAsync();
    }

    /// <summary>Sends octets as they are.</summary>
    public async Task SendRawAsync(byte[] octets, string? logged = null)
    {
        transcript.Append("C: ").AppendLine(logged ?? Encoding.UTF8.GetString(octets).TrimEnd());
        await stream.WriteAsync(octets).AsTask().WaitAsync(Timeout);
        await stream.FlushAsync();
    }

    /// <summary>Reads one line without its CRLF.</summary>
    public async Task<string> ReadLineAsync()
    {
        byte[] line = await ReadUntilAsync("\r\n"u8.ToArray());
        string text = Encoding.UTF8.GetString(line, 0, line.Length - 2);
        transcript.Append("S: ").AppendLine(text);
        return text;
    }

    /// <summary>Reads a multi-line body after its status line: the octets up to and including the terminating
    /// ".CRLF", still dot-stuffed.</summary>
    public async Task<byte[]> ReadMultiLineAsync()
    {
        var all = new List<byte>();
        while (true)
        {
            byte[] line = await ReadUntilAsync("\r\n"u8.ToArray());
            all.AddRange(line);
            if (line.Length == 3 && line[0] == '.')
            {
                transcript.Append("S: (").Append(all.Count).AppendLine(" octets of multi-line response)");
                return all.ToArray();
            }
        }
    }

    /// <summary>Whether the server closed the connection (a read returns 0 within the time limit).</summary>
    public async Task<bool> ClosedAsync()
    {
        var buffer = new byte[256];
        try
        {
            return await stream.ReadAsync(buffer).AsTask().WaitAsync(Timeout) == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Drops the connection without QUIT.</summary>
    public void Dispose()
    {
        stream.Dispose();
        tcp.Dispose();
    }

    /// <summary>The multi-line body without dot-stuffing and terminator: what the client reads as the message.</summary>
    public static byte[] Unstuff(byte[] body)
    {
        var result = new List<byte>(body.Length);
        bool lineStart = true;
        for (int i = 0; i < body.Length - 3; i++)
        {
            if (lineStart && body[i] == '.')
            {
                lineStart = false;
                continue;
            }

            result.Add(body[i]);
            lineStart = body[i] == '\n';
        }

        return result.ToArray();
    }

    private async Task HandshakeAsync()
    {
        var tls = new SslStream(stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("mx.test").WaitAsync(Timeout);
        stream = tls;
        pending = [];
        transcript.AppendLine($"-- TLS {tls.SslProtocol}");
    }

    private async Task<byte[]> ReadUntilAsync(byte[] end)
    {
        var buffer = new byte[4096];
        while (true)
        {
            int at = pending.AsSpan().IndexOf(end);
            if (at >= 0)
            {
                byte[] result = pending[..(at + end.Length)];
                pending = pending[(at + end.Length)..];
                return result;
            }

            int n = await stream.ReadAsync(buffer).AsTask().WaitAsync(Timeout);
            if (n == 0)
            {
                throw new IOException($"connection closed\n{Transcript}");
            }

            pending = [.. pending, .. buffer.AsSpan(0, n)];
        }
    }
}
