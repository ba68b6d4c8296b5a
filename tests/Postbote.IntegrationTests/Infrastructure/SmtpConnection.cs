using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>A raw SMTP client over TCP that sends exactly the bytes it is given and keeps a transcript.</summary>
public sealed partial class SmtpConnection : IDisposable
{
    private static readonly TimeSpan DefaultReplyTimeout = TimeSpan.FromSeconds(15);
    private readonly TcpClient client;
    private readonly NetworkStream stream;
    private readonly List<byte> pending = [];
    private bool closed;

    private SmtpConnection(TcpClient client)
    {
        this.client = client;
        stream = client.GetStream();
    }

    /// <summary>What was said so far.</summary>
    public Transcript Transcript { get; } = new();

    /// <summary>The greeting read by <see cref="ConnectAsync"/>.</summary>
    public SmtpResponse Greeting { get; private set; } = new(0, string.Empty, false, false);

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/> and reads the greeting.</summary>
    public static async Task<SmtpConnection> ConnectAsync(int port, TimeSpan? timeout = null)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(timeout ?? DefaultReplyTimeout);
            await tcp.ConnectAsync("127.0.0.1", port, cts.Token);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }

        var connection = new SmtpConnection(tcp);
        connection.Transcript.Note($"connected to 127.0.0.1:{port}");
        connection.Greeting = await connection.ReadReplyAsync(timeout);
        return connection;
    }

    /// <summary>Sends <paramref name="text"/> as UTF-8, exactly (add CRLF yourself).</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends <paramref name="bytes"/> in one write (given up after 30 s).</summary>
    public async Task SendAsync(byte[] bytes)
    {
        Transcript.Client(bytes);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await stream.WriteAsync(bytes, cts.Token);
    }

    /// <summary>Sends <paramref name="bytes"/> one byte per write, <paramref name="delay"/> apart.</summary>
    public async Task SendSlowlyAsync(byte[] bytes, TimeSpan delay)
    {
        Transcript.Client(bytes);
        for (var i = 0; i < bytes.Length; i++)
        {
            await stream.WriteAsync(bytes.AsMemory(i, 1));
            await Task.Delay(delay);
        }
    }

    /// <summary>Sends <paramref name="line"/> plus CRLF and reads one reply.</summary>
    public async Task<SmtpResponse> CommandAsync(string line, TimeSpan? timeout = null)
    {
        await SendAsync(line + "\r\n");
        return await ReadReplyAsync(timeout);
    }

    /// <summary>Reads one complete (possibly multi-line) reply.</summary>
    public async Task<SmtpResponse> ReadReplyAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultReplyTimeout);
        var start = 0;
        while (true)
        {
            // Look for a final reply line in what is buffered.
            for (var i = start; i < pending.Count; i++)
            {
                if (pending[i] != (byte)'\n')
                {
                    continue;
                }

                var line = Encoding.UTF8.GetString(pending.GetRange(start, i + 1 - start).ToArray());
                start = i + 1;
                var match = ReplyLine().Match(line);
                if (!match.Success || match.Groups[2].Value != "-")
                {
                    var bytes = pending.GetRange(0, start).ToArray();
                    pending.RemoveRange(0, start);
                    Transcript.Server(bytes);
                    var code = match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
                    return new SmtpResponse(code, Encoding.UTF8.GetString(bytes), false, false);
                }
            }

            if (closed)
            {
                return TakePartial(closedNow: true, timedOut: false);
            }

            var buffer = new byte[65536];
            int n;
            try
            {
                n = await stream.ReadAsync(buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                return TakePartial(closedNow: false, timedOut: true);
            }
            catch (IOException)
            {
                n = 0;
            }

            if (n == 0)
            {
                closed = true;
                Transcript.Note("server closed the connection");
                continue;
            }

            pending.AddRange(buffer.AsSpan(0, n));
        }
    }

    /// <summary>Reads until the server closes the connection; true when it did within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[65536];
        while (!closed)
        {
            int n;
            try
            {
                n = await stream.ReadAsync(buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            catch (IOException)
            {
                n = 0;
            }

            if (n == 0)
            {
                closed = true;
                Transcript.Note("server closed the connection");
                break;
            }

            Transcript.Server(buffer.AsSpan(0, n));
        }

        return true;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        client.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => Transcript.ToString();

    [GeneratedRegex(@"^(\d{3})([ -]|\r?\n)")]
    private static partial Regex ReplyLine();

    private SmtpResponse TakePartial(bool closedNow, bool timedOut)
    {
        var bytes = pending.ToArray();
        pending.Clear();
        if (bytes.Length > 0)
        {
            Transcript.Server(bytes);
        }

        if (timedOut)
        {
            Transcript.Note("no complete reply in time");
        }

        return new SmtpResponse(0, Encoding.UTF8.GetString(bytes), closedNow, timedOut);
    }
}
