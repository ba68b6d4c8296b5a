using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.RegularExpressions;

namespace Postbote.Testing.Smtp;

/// <summary>
/// A raw SMTP client over TCP that sends exactly the bytes it is given and keeps a transcript; it can switch to TLS
/// (STARTTLS) or start with it (implicit TLS, RFC 8314).
/// </summary>
public sealed partial class SmtpConnection : IDisposable
{
    /// <summary>The host name the test servers run as, and so the TLS server name the client asks for.</summary>
    public const string ServerName = "mx.test";

    private static readonly TimeSpan DefaultReplyTimeout = TimeSpan.FromSeconds(15);
    private readonly TcpClient client;
    private readonly List<byte> pending = [];
    private readonly byte[] readBuffer = new byte[65536];
    private Stream stream;
    private Task<int>? inflight;
    private bool closed;

    private SmtpConnection(TcpClient client)
    {
        this.client = client;
        stream = client.GetStream();
    }

    /// <summary>The TLS layer once <see cref="StartTlsAsync"/> or <see cref="ConnectTlsAsync"/> ran; null before.</summary>
    public SslStream? Tls { get; private set; }

    /// <summary>The local end of the TCP connection.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)client.Client.LocalEndPoint!;

    /// <summary>What was said so far.</summary>
    public Transcript Transcript { get; } = new();

    /// <summary>The greeting read by <see cref="ConnectAsync"/>.</summary>
    public SmtpResponse Greeting { get; private set; } = new(0, string.Empty, false, false);

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/> and reads the greeting.</summary>
    public static Task<SmtpConnection> ConnectAsync(int port, TimeSpan? timeout = null) =>
        ConnectFromAsync(null, port, timeout);

    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/> from <paramref name="localAddress"/> (bound before connecting, e.g.
    /// 127.0.0.2; null: the system's choice) and reads the greeting.
    /// </summary>
    public static async Task<SmtpConnection> ConnectFromAsync(IPAddress? localAddress, int port, TimeSpan? timeout = null)
    {
        var connection = await OpenAsync(localAddress, port, timeout);
        connection.Greeting = await connection.ReadReplyAsync(timeout);
        return connection;
    }

    /// <summary>
    /// Connects to the implicit-TLS port 127.0.0.1:<paramref name="port"/>, runs the TLS handshake (server name
    /// <see cref="ServerName"/>), then reads the greeting inside TLS.
    /// </summary>
    /// <param name="port">The submissions port.</param>
    /// <param name="validate">Checks the server certificate; null accepts any.</param>
    /// <param name="protocols">The TLS versions to offer; None for the system default.</param>
    public static async Task<SmtpConnection> ConnectTlsAsync(
        int port, RemoteCertificateValidationCallback? validate = null, SslProtocols protocols = SslProtocols.None)
    {
        var connection = await OpenAsync(null, port, null);
        try
        {
            await connection.HandshakeAsync(validate, protocols);
            connection.Greeting = await connection.ReadReplyAsync();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the TLS handshake on this connection, after the server's 220 to STARTTLS. Fails when the server sent more
    /// clear-text bytes after that reply (they would be a reply to something the client never said inside TLS).
    /// </summary>
    /// <exception cref="InvalidOperationException">Clear-text bytes are left over from before the handshake.</exception>
    public async Task StartTlsAsync(RemoteCertificateValidationCallback? validate = null, SslProtocols protocols = SslProtocols.None)
    {
        if (pending.Count > 0)
        {
            throw new InvalidOperationException(
                $"the server sent clear-text bytes after its reply to STARTTLS: {Transcript.Escape(pending.ToArray())}\n{Transcript}");
        }

        await HandshakeAsync(validate, protocols);
    }

    /// <summary>Whether any byte arrives within <paramref name="wait"/> (kept for the next read); for "nothing may come".</summary>
    public async Task<bool> AnythingArrivesAsync(TimeSpan wait)
    {
        if (pending.Count > 0)
        {
            return true;
        }

        using var cts = new CancellationTokenSource(wait);
        try
        {
            var n = await ReadSomeAsync(cts.Token);
            if (n == 0)
            {
                closed = true;
                Transcript.Note("server closed the connection");
                return true;
            }

            pending.AddRange(readBuffer.AsSpan(0, n));
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
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
                    return new SmtpResponse(code, Encoding.UTF8.GetString(bytes), false, false) { Bytes = bytes };
                }
            }

            if (closed)
            {
                return TakePartial(closedNow: true, timedOut: false);
            }

            int n;
            try
            {
                n = await ReadSomeAsync(cts.Token);
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

            pending.AddRange(readBuffer.AsSpan(0, n));
        }
    }

    /// <summary>Reads until the server closes the connection; true when it did within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!closed)
        {
            int n;
            try
            {
                n = await ReadSomeAsync(cts.Token);
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

            Transcript.Server(readBuffer.AsSpan(0, n));
        }

        return true;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Tls?.Dispose();
        client.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => Transcript.ToString();

    private static async Task<SmtpConnection> OpenAsync(IPAddress? localAddress, int port, TimeSpan? timeout)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        try
        {
            if (localAddress is not null)
            {
                tcp.Client.Bind(new IPEndPoint(localAddress, 0));
            }

            using var cts = new CancellationTokenSource(timeout ?? DefaultReplyTimeout);
            await tcp.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }

        var connection = new SmtpConnection(tcp);
        connection.Transcript.Note($"connected to 127.0.0.1:{port} from {connection.LocalEndPoint}");
        return connection;
    }

    /// <summary>
    /// One read into <see cref="readBuffer"/>. A read that times out stays in flight and the next call picks it up, so
    /// no read is ever cancelled half-way (a cancelled read can leave an SslStream unusable).
    /// </summary>
    private async Task<int> ReadSomeAsync(CancellationToken cancellationToken)
    {
        inflight ??= stream.ReadAsync(readBuffer).AsTask();
        var read = inflight;
        var done = await Task.WhenAny(read, Task.Delay(Timeout.Infinite, cancellationToken));
        if (done != read)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        inflight = null;
        return await read;
    }

    private async Task HandshakeAsync(RemoteCertificateValidationCallback? validate, SslProtocols protocols)
    {
        if (inflight is not null)
        {
            throw new InvalidOperationException("a clear-text read is still waiting; the handshake cannot start");
        }

        var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: true);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = ServerName,
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = validate ?? ((_, _, _, _) => true),
        };
        using var cts = new CancellationTokenSource(DefaultReplyTimeout);
        try
        {
            await tls.AuthenticateAsClientAsync(options, cts.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            Transcript.Note($"TLS handshake failed: {e.Message}");
            tls.Dispose();
            throw new InvalidOperationException($"TLS handshake failed: {e.Message}\n{Transcript}", e);
        }

        Tls = tls;
        stream = tls;
        Transcript.Note($"TLS established: {tls.SslProtocol} {tls.NegotiatedCipherSuite}, certificate {tls.RemoteCertificate?.Subject}");
    }

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

        return new SmtpResponse(0, Encoding.UTF8.GetString(bytes), closedNow, timedOut) { Bytes = bytes };
    }
}
