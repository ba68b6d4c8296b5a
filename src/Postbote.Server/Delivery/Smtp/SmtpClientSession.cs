using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Postbote.Core;
using Postbote.Protocol.Smtp;
using Postbote.Protocol.Smtp.Client;

namespace Postbote.Delivery.Smtp;

/// <summary>
/// One client connection to an SMTP server (RFC 5321) or LMTP server (RFC 2033): greeting, EHLO (LHLO) with HELO
/// fallback, opportunistic STARTTLS (RFC 3207), then any number of mail transactions (<see cref="SendAsync"/>) with
/// <see cref="ResetAsync"/> between them, and <see cref="QuitAsync"/> at the end. Speaks through Postbote's own protocol
/// layer (<see cref="SmtpCommandWriter"/>, <see cref="SmtpReplyParser"/>, <see cref="DataEncoder"/>) over a socket, with
/// one reused input buffer and one reused output buffer; message bodies are streamed from their file.
/// </summary>
/// <remarks>
/// Every wait is bounded by the client timeouts of RFC 5321 §4.5.3.2 (<see cref="SmtpClientTimeouts"/>). A failure of
/// the connection itself (lost, timed out, refused at greeting, TLS handshake failed, something that is no reply) is a
/// <see cref="SmtpClientException"/> and leaves the session unusable; replies the server gives to a transaction are
/// per-recipient results. Not thread-safe: one transaction at a time.
/// </remarks>
public sealed partial class SmtpClientSession : IAsyncDisposable
{
    private const int InitialInputSize = 4096;
    private const int FlushThreshold = 64 * 1024;

    private readonly Socket _socket;
    private readonly SmtpClientTimeouts _timeouts;
    private readonly string _heloName;
    private readonly string _hostName;
    private readonly string? _ownHostName;
    private readonly ArrayBufferWriter<byte> _out = new(InitialInputSize);
    private readonly CancellationTokenSource _timer = new();
    private Stream _stream;
    private byte[] _in = ArrayPool<byte>.Shared.Rent(InitialInputSize);
    private int _inStart;
    private int _inEnd;
    private bool _broken;
    private bool _disposed;

    private SmtpClientSession(Socket socket, string hostName, string remoteHost, SmtpClientProtocol protocol, string heloName, SmtpClientTimeouts timeouts,
        string? ownHostName)
    {
        _ownHostName = ownHostName;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _hostName = hostName;
        RemoteHost = remoteHost;
        Protocol = protocol;
        _heloName = heloName;
        _timeouts = timeouts;
    }

    /// <summary>The server as <c>name[address]:port</c>, e.g. <c>mx1.example.net[192.0.2.1]:25</c>, as results and
    /// logs name it.</summary>
    public string RemoteHost { get; }

    /// <summary>SMTP or LMTP.</summary>
    public SmtpClientProtocol Protocol { get; }

    /// <summary>What the server offers, from its reply to the last EHLO or LHLO (after STARTTLS, the one sent over
    /// TLS); <see cref="EhloCapabilities.None"/> after HELO.</summary>
    public EhloCapabilities Capabilities { get; private set; } = EhloCapabilities.None;

    /// <summary>Whether the connection is encrypted (STARTTLS succeeded).</summary>
    public bool IsTls { get; private set; }

    /// <summary>The TLS protocol and cipher suite, e.g. <c>Tls13 TLS_AES_256_GCM_SHA384</c>, or <c>null</c> without TLS.</summary>
    public string? TlsDescription { get; private set; }

    /// <summary>How many transactions this connection has carried (each MAIL counts, also one the server refused).</summary>
    public int Transactions { get; private set; }

    /// <summary>Whether the session can carry another transaction: the connection is open and in step with the server.</summary>
    public bool IsUsable => !_broken && !_disposed;

    /// <summary>
    /// Connects, reads the greeting, says EHLO (LMTP: LHLO; after a refused EHLO: HELO), and starts TLS when the
    /// server offers STARTTLS and <paramref name="opportunisticTls"/> is set.
    /// </summary>
    /// <param name="hostName">The server's name: for <see cref="RemoteHost"/> and as the TLS server name (SNI).</param>
    /// <param name="endPoint">Where to connect: an <see cref="IPEndPoint"/>, or a <see cref="UnixDomainSocketEndPoint"/> for LMTP.</param>
    /// <param name="protocol">SMTP or LMTP.</param>
    /// <param name="heloName">This server's name for EHLO, HELO and LHLO.</param>
    /// <param name="timeouts">The waits of RFC 5321 §4.5.3.2.</param>
    /// <param name="connectTimeout">The longest the TCP (or unix socket) connection may take.</param>
    /// <param name="opportunisticTls">Whether to use STARTTLS when offered. The certificate is not verified
    /// (opportunistic TLS, RFC 7435 §1.3: better than clear text, protecting against passive attackers only).</param>
    /// <param name="localAddress">The local address to connect from (<c>relay.bind_address</c> or
    /// <c>relay.bind_address6</c>, whichever is of <paramref name="endPoint"/>'s family), or <c>null</c> to let the
    /// system choose. Ignored for a unix domain socket.</param>
    /// <param name="ownHostName">This server's host name: an SMTP server whose greeting or EHLO/HELO reply names it is
    /// this server, and the session ends with <see cref="LoopDetected"/>; <c>null</c> for no check. LMTP servers are not
    /// checked (a local Dovecot may well carry the machine's name).</param>
    /// <param name="cancellationToken">Ends the attempt (shutdown).</param>
    /// <returns>The ready session.</returns>
    /// <exception cref="SmtpClientException">The connection failed or timed out (4.4.1), the local address could not be
    /// bound (4.4.1), the greeting or the hello was refused (the server's reply), the connection was lost (4.4.2), the
    /// TLS handshake failed (4.7.5): the next mail exchanger may be tried. Or the server named itself with
    /// <paramref name="ownHostName"/> (<c>554 5.4.6</c>, <see cref="LoopDetected"/>): mail loops back.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ArgumentException"><paramref name="heloName"/> is no domain name.</exception>
    public static async Task<SmtpClientSession> ConnectAsync(string hostName, EndPoint endPoint, SmtpClientProtocol protocol,
        string heloName, SmtpClientTimeouts timeouts, TimeSpan connectTimeout, bool opportunisticTls, IPAddress? localAddress, string? ownHostName,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hostName);
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(timeouts);
        string remote = Describe(hostName, endPoint);
        var socket = endPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (localAddress is not null && endPoint is IPEndPoint && localAddress.AddressFamily == endPoint.AddressFamily)
        {
            try
            {
                socket.Bind(new IPEndPoint(localAddress, 0));
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new SmtpClientException(NoAnswer, $"connect to {remote}: cannot bind to {localAddress}: {e.Message}", e);
            }
        }
        try
        {
            using var connectTimer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connectTimer.CancelAfter(connectTimeout);
            await socket.ConnectAsync(endPoint, connectTimer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new SmtpClientException(NoAnswer, $"connect to {remote}: no connection within {connectTimeout.TotalSeconds:0.#} s");
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new SmtpClientException(NoAnswer, $"connect to {remote}: {e.Message}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var session = new SmtpClientSession(socket, hostName, remote, protocol, heloName, timeouts,
            protocol == SmtpClientProtocol.Smtp && !string.IsNullOrEmpty(ownHostName) ? ownHostName : null);
        try
        {
            await session.OpenAsync(opportunisticTls, cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task OpenAsync(bool opportunisticTls, CancellationToken cancellationToken)
    {
        using var _ = Watch(cancellationToken);
        // RFC 5321 §4.3.1: the greeting may be multi-line; "a 554 response MAY be given in the initial connection
        // opening message instead of the 220", and 421 refuses the session too.
        SmtpReply greeting = await ReadReplyAsync(_timeouts.Initial, "greeting", cancellationToken).ConfigureAwait(false);
        if (!greeting.IsPositive) throw Refused(greeting, "greeting");
        CheckNotOwnName(FirstWord(greeting), "greeting");
        await HelloAsync(cancellationToken).ConfigureAwait(false);
        if (opportunisticTls && Capabilities.Offers(SmtpExtensions.StartTls))
        {
            SmtpCommandWriter.WriteStartTls(_out);
            await FlushAsync(_timeouts.Initial, "STARTTLS", cancellationToken).ConfigureAwait(false);
            SmtpReply reply = await ReadReplyAsync(_timeouts.Initial, "STARTTLS", cancellationToken).ConfigureAwait(false);
            if (reply.Code == SmtpReplyCode.ServiceNotAvailable) throw Refused(reply, "STARTTLS");
            if (reply.Code == SmtpReplyCode.ServiceReady)
            {
                await StartTlsAsync(cancellationToken).ConfigureAwait(false);
                // RFC 3207 §4.2: "The client MUST discard any knowledge obtained from the server, such as the list of
                // SMTP service extensions, which was not obtained from the TLS negotiation itself. The client SHOULD
                // send an EHLO command as the first command after a successful TLS negotiation."
                Capabilities = EhloCapabilities.None;
                await HelloAsync(cancellationToken).ConfigureAwait(false);
            }
            // Any other reply: the server declined; opportunistic TLS goes on in clear text (RFC 7435 §4).
        }
    }

    private async Task HelloAsync(CancellationToken cancellationToken)
    {
        if (Protocol == SmtpClientProtocol.Lmtp) SmtpCommandWriter.WriteLhlo(_out, _heloName);
        else SmtpCommandWriter.WriteEhlo(_out, _heloName);
        string verb = Protocol == SmtpClientProtocol.Lmtp ? "LHLO" : "EHLO";
        await FlushAsync(_timeouts.Initial, verb, cancellationToken).ConfigureAwait(false);
        SmtpReply reply = await ReadReplyAsync(_timeouts.Initial, verb, cancellationToken).ConfigureAwait(false);
        if (reply.IsPositive)
        {
            Capabilities = EhloKeywordReader.Read(reply);
            CheckNotOwnName(FirstWord(reply), verb);
            return;
        }
        // RFC 5321 §3.2: "If the EHLO command is not acceptable to the SMTP server, 501, 500, 502, or 550 failure
        // replies MUST be returned as appropriate. The SMTP client MUST be able to accommodate servers that reject
        // EHLO in this way, and should fall back to HELO". LMTP has no HELO (RFC 2033 §4.1).
        if (Protocol == SmtpClientProtocol.Lmtp || !reply.IsPermanentFailure) throw Refused(reply, verb);
        SmtpCommandWriter.WriteHelo(_out, _heloName);
        await FlushAsync(_timeouts.Initial, "HELO", cancellationToken).ConfigureAwait(false);
        reply = await ReadReplyAsync(_timeouts.Initial, "HELO", cancellationToken).ConfigureAwait(false);
        if (!reply.IsPositive) throw Refused(reply, "HELO");
        CheckNotOwnName(FirstWord(reply), "HELO");
        Capabilities = EhloCapabilities.None;
    }

    /// <summary>The status every recipient gets when a server turns out to be this one: 5.4.6 routing loop detected
    /// (RFC 3463 §3.5).</summary>
    public static readonly EnhancedStatusCode LoopDetected = new(5, 4, 6);

    /// <summary>RFC 5321 §4.2: the greeting and the EHLO reply start with the server's domain. When that is this server's
    /// own host name, the connection reached this server (a port forward, NAT, or an MX that names us under another
    /// address), and relaying would loop (Postfix: "host X greeted me with my own hostname").</summary>
    private void CheckNotOwnName(string name, string during)
    {
        if (_ownHostName is null || !string.Equals(name.TrimEnd('.'), _ownHostName.TrimEnd('.'), StringComparison.OrdinalIgnoreCase)) return;
        _broken = true;
        throw new SmtpClientException(new SmtpReply(SmtpReplyCode.TransactionFailed, LoopDetected,
            $"{RemoteHost} names itself {name} in its {during} reply, my own host name"));
    }

    private static string FirstWord(SmtpReply reply)
    {
        string line = reply.Lines.Count > 0 ? reply.Lines[0] : string.Empty;
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? line : line[..space];
    }

    private async Task StartTlsAsync(CancellationToken cancellationToken)
    {
        // Bytes that arrived after the 220 were sent before TLS and cannot be trusted (the STARTTLS injection class,
        // RFC 3207 §4.2 and CVE-2011-0411): they are dropped.
        _inStart = _inEnd = 0;
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = _hostName.Length > 0 && !IPAddress.TryParse(_hostName.Trim('[', ']'), out _) ? _hostName : null,
            // Opportunistic TLS (RFC 7435 §1.3): any certificate is taken; the alternative is clear text.
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        };
        try
        {
            _timer.CancelAfter(_timeouts.Initial);
            await tls.AuthenticateAsClientAsync(options, _timer.Token).ConfigureAwait(false);
            _timer.CancelAfter(Timeout.InfiniteTimeSpan);
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException or SocketException)
        {
            _broken = true;
            await tls.DisposeAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            string reason = e is OperationCanceledException ? $"no handshake within {_timeouts.Initial.TotalSeconds:0.#} s" : Innermost(e).Message;
            throw new SmtpClientException(new EnhancedStatusCode(4, 7, 5), $"TLS handshake with {RemoteHost} failed: {reason}", e);
        }
        _stream = tls;
        IsTls = true;
        TlsDescription = $"{tls.SslProtocol} {tls.NegotiatedCipherSuite}";
    }

    /// <summary>Sends RSET (RFC 5321 §4.1.1.5) so that a kept connection can carry the next message, and checks that
    /// the server still answers.</summary>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns><c>true</c> when the server answered 250; otherwise the session is unusable.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<bool> ResetAsync(CancellationToken cancellationToken)
    {
        if (!IsUsable) return false;
        using var _ = Watch(cancellationToken);
        try
        {
            SmtpCommandWriter.WriteRset(_out);
            await FlushAsync(_timeouts.Mail, "RSET", cancellationToken).ConfigureAwait(false);
            SmtpReply reply = await ReadReplyAsync(_timeouts.Mail, "RSET", cancellationToken).ConfigureAwait(false);
            if (reply.IsPositive) return true;
        }
        catch (SmtpClientException)
        {
        }
        _broken = true;
        return false;
    }

    /// <summary>Sends QUIT (RFC 5321 §4.1.1.10), waits briefly for the reply, and closes the connection. Never throws
    /// for a connection that is already gone.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async Task QuitAsync()
    {
        if (IsUsable)
        {
            try
            {
                SmtpCommandWriter.WriteQuit(_out);
                await FlushAsync(_timeouts.Quit, "QUIT", CancellationToken.None).ConfigureAwait(false);
                await ReadReplyAsync(_timeouts.Quit, "QUIT", CancellationToken.None).ConfigureAwait(false);
            }
            catch (SmtpClientException)
            {
            }
        }
        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Closes the connection without QUIT.</summary>
    /// <returns>A task that completes when closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
        _socket.Dispose();
        _timer.Dispose();
        byte[] buffer = _in;
        _in = [];
        ArrayPool<byte>.Shared.Return(buffer);
    }

    /// <summary>Lets the caller's token end the current wait as the timer does; disposed at the end of the operation.</summary>
    private CancellationTokenRegistration Watch(CancellationToken cancellationToken) =>
        cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _timer);

    /// <summary>Writes what <see cref="_out"/> holds, within <paramref name="timeout"/>.</summary>
    private async ValueTask FlushAsync(TimeSpan timeout, string during, CancellationToken cancellationToken)
    {
        if (_out.WrittenCount == 0) return;
        try
        {
            _timer.CancelAfter(timeout);
            await _stream.WriteAsync(_out.WrittenMemory, _timer.Token).ConfigureAwait(false);
            _timer.CancelAfter(Timeout.InfiniteTimeSpan);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            throw Lost(e, during, timeout, cancellationToken);
        }
        finally
        {
            _out.ResetWrittenCount();
        }
    }

    /// <summary>Reads one complete reply (RFC 5321 §4.2.1, multi-line included) within <paramref name="timeout"/>.</summary>
    private async ValueTask<SmtpReply> ReadReplyAsync(TimeSpan timeout, string during, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_inEnd > _inStart)
            {
                var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(_in, _inStart, _inEnd - _inStart));
                OperationStatus status = SmtpReplyParser.TryParse(ref reader, out SmtpReply? reply, out SmtpReplyFault fault,
                    SmtpReplyParser.DefaultMaxLineLength, SmtpReplyParser.DefaultMaxLines);
                if (status == OperationStatus.Done)
                {
                    _inStart += (int)reader.Consumed;
                    if (_inStart == _inEnd) _inStart = _inEnd = 0;
                    if (reply!.Code == SmtpReplyCode.ServiceNotAvailable) _broken = true; // 421: the server closes (RFC 5321 §3.8)
                    return reply;
                }
                if (status == OperationStatus.InvalidData)
                {
                    _broken = true;
                    throw new SmtpClientException(new EnhancedStatusCode(4, 5, 0), $"{RemoteHost} sent no valid reply to {during} ({fault})");
                }
            }
            if (_inStart > 0)
            {
                Buffer.BlockCopy(_in, _inStart, _in, 0, _inEnd - _inStart);
                _inEnd -= _inStart;
                _inStart = 0;
            }
            if (_inEnd == _in.Length)
            {
                // The parser bounds a reply (lines × line length), so the buffer grows only to that.
                byte[] bigger = ArrayPool<byte>.Shared.Rent(_in.Length * 2);
                Buffer.BlockCopy(_in, 0, bigger, 0, _inEnd);
                ArrayPool<byte>.Shared.Return(_in);
                _in = bigger;
            }
            int n;
            try
            {
                _timer.CancelAfter(timeout);
                n = await _stream.ReadAsync(_in.AsMemory(_inEnd), _timer.Token).ConfigureAwait(false);
                _timer.CancelAfter(Timeout.InfiniteTimeSpan);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                throw Lost(e, during, timeout, cancellationToken);
            }
            if (n == 0)
            {
                _broken = true;
                throw new SmtpClientException(EnhancedStatusCode.BadConnection, $"lost connection with {RemoteHost} while waiting for the reply to {during}");
            }
            _inEnd += n;
        }
    }

    private Exception Lost(Exception e, string during, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _broken = true;
        if (cancellationToken.IsCancellationRequested) return new OperationCanceledException(cancellationToken);
        return e is OperationCanceledException
            ? new SmtpClientException(EnhancedStatusCode.BadConnection, $"timeout after {timeout.TotalSeconds:0.#} s with {RemoteHost} during {during}", e)
            : new SmtpClientException(EnhancedStatusCode.BadConnection, $"lost connection with {RemoteHost} during {during}: {Innermost(e).Message}", e);
    }

    private SmtpClientException Refused(SmtpReply reply, string during)
    {
        _broken = true;
        string text = $"{RemoteHost} refused {during}: {string.Join(" ", reply.Lines)}";
        return new SmtpClientException(new SmtpReply(reply.Code, reply.Status ?? DefaultStatus(reply), text));
    }

    private static readonly EnhancedStatusCode NoAnswer = new(4, 4, 1);

    /// <summary>The enhanced status code a reply without one stands for: its class with subject and detail 0 (RFC 3463 §3.1).</summary>
    internal static EnhancedStatusCode DefaultStatus(SmtpReply reply) => new((int)reply.Code / 100, 0, 0);

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    private static string Describe(string hostName, EndPoint endPoint) => endPoint switch
    {
        IPEndPoint ip => $"{hostName}[{ip.Address}]:{ip.Port}",
        UnixDomainSocketEndPoint unix => $"{hostName}[unix:{unix}]",
        _ => $"{hostName}[{endPoint}]",
    };
}
