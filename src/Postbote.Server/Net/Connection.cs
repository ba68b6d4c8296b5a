using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Postbote.Net;

/// <summary>
/// One accepted TCP connection, for any protocol: the socket, the pipes the protocol reads and writes through, TLS (from
/// the first octet, or swapped in later as STARTTLS does), the TLS channel-binding data, and the deadlines the
/// <see cref="Heartbeat"/> checks (idle, line, shutdown, and the protocol's own through <see cref="ProtocolDeadlines"/>).
/// A deadline that passes aborts the connection: its pending read is cancelled and <see cref="AbortReason"/> says why.
/// Until <see cref="UsePipes"/> (or a TLS handshake) the connection holds no pipes or buffers: an idle connection costs
/// as little memory as possible.
/// </summary>
public sealed class Connection : ITimeoutTarget
{
    /// <summary>The longest TLS handshake: 60 seconds, or the idle timeout when that is shorter.</summary>
    public static readonly TimeSpan HandshakeTimeoutLimit = TimeSpan.FromSeconds(60);

    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private readonly ConnectionLimits _limits;
    private readonly Heartbeat _heartbeat;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private Stream _stream;
    private PipeReader? _reader;
    private PipeWriter? _writer;
    private volatile bool _pipesReady;
    private SslStream? _tls;
    private TlsCertificateProvider? _certificates;
    private byte[]? _endPointBinding;
    private long _idleDeadline;
    private long _shutdownDeadline;
    private int _abortReason;
    private readonly CancellationTokenSource _aborted = new();
    private volatile bool _finished;

    /// <summary>Takes over an accepted socket.</summary>
    /// <param name="id">The connection's ID in logs.</param>
    /// <param name="socket">The accepted socket; the connection owns it from now on.</param>
    /// <param name="remote">The client's address and port.</param>
    /// <param name="local">The listener's address and port.</param>
    /// <param name="limits">The idle and line timeouts.</param>
    /// <param name="heartbeat">The heartbeat that checks the deadlines once a second.</param>
    /// <param name="time">The clock of the deadlines.</param>
    /// <param name="log">Where TLS handshakes are logged.</param>
    public Connection(string id, Socket socket, IPEndPoint remote, IPEndPoint local, ConnectionLimits limits, Heartbeat heartbeat,
        TimeProvider time, ILogger log)
    {
        Id = id;
        _socket = socket;
        Remote = remote;
        Local = local;
        _limits = limits;
        _heartbeat = heartbeat;
        _time = time;
        _log = log;
        _network = new NetworkStream(socket, ownsSocket: true);
        _stream = _network;
    }

    /// <summary>The connection's ID in logs (hexadecimal, counted per listener).</summary>
    public string Id { get; }

    /// <summary>The client's address and port.</summary>
    public IPEndPoint Remote { get; }

    /// <summary>The listener's address and port.</summary>
    public IPEndPoint Local { get; }

    /// <summary>The reader of what the client sends, after <see cref="UsePipes"/>; a new one after a TLS handshake.</summary>
    /// <exception cref="InvalidOperationException">The pipes are not made yet.</exception>
    public PipeReader Input => _reader ?? throw new InvalidOperationException("the connection has no pipes yet");

    /// <summary>The writer to the client, after <see cref="UsePipes"/>; a new one after a TLS handshake.</summary>
    /// <exception cref="InvalidOperationException">The pipes are not made yet.</exception>
    public PipeWriter Output => _writer ?? throw new InvalidOperationException("the connection has no pipes yet");

    /// <summary>The TLS layer once a handshake succeeded, else <c>null</c>.</summary>
    public SslStream? Tls => _tls;

    /// <summary>Whether the connection runs over TLS.</summary>
    public bool IsTls => _tls is not null;

    /// <summary>Cancelled when the connection is aborted (<see cref="Abort"/>) or closed: what a session waits for on
    /// behalf of its client (a policy's DNS query, a store lookup) stops with it.</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>Why the connection was aborted, or <see cref="ConnectionAbortReason.None"/>.</summary>
    public ConnectionAbortReason AbortReason => (ConnectionAbortReason)Volatile.Read(ref _abortReason);

    /// <summary>The timestamp (<see cref="TimeProvider.GetTimestamp"/>) of the first octet of a line still incomplete,
    /// or 0 for none; the connection is aborted with <see cref="ConnectionAbortReason.CommandLineTimeout"/> when that
    /// line is older than <see cref="ConnectionLimits.CommandLineTimeout"/>.</summary>
    public long PendingLineSince { get; set; }

    /// <summary>The protocol's own deadlines (such as a minimum data rate), checked on every heartbeat tick after the
    /// connection's, or <c>null</c>.</summary>
    public ITimeoutTarget? ProtocolDeadlines { get; set; }

    /// <summary>The <c>tls-server-end-point</c> channel-binding data of RFC 5929 §4.1 of this connection: the hash of the
    /// certificate its handshake used (not of a newer one after a reload), or <c>null</c> before TLS.</summary>
    public byte[]? TlsServerEndPoint => _tls is null ? null : _endPointBinding ?? _certificates?.EndPointBinding;

    /// <summary>The <c>tls-unique</c> channel-binding data of RFC 5929 §3.1 (TLS 1.2 only), or <c>null</c>.</summary>
    /// <returns>The Finished octets, see <see cref="TlsChannelBinding.TlsUnique"/>.</returns>
    public byte[]? TlsUnique() => _tls is null ? null : TlsChannelBinding.TlsUnique(_tls);

    /// <summary>Writes octets straight to the connection, before the pipes are made (a greeting, a refusal).</summary>
    /// <param name="octets">The octets.</param>
    /// <returns>A task that completes when written.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> octets) => _stream.WriteAsync(octets);

    /// <summary>Waits for the client's first octet with a zero-byte read, which holds no buffer; an abort ends the wait
    /// by shutting the socket's receive side.</summary>
    /// <returns>A task that completes when input is there or the wait was ended.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    public async ValueTask WaitForInputAsync() => await _stream.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);

    /// <summary>Whether octets from the client are waiting in the socket's receive buffer (before any pipe is made).</summary>
    public bool HasPendingInput
    {
        get
        {
            try { return _socket.Available > 0; }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return false; }
        }
    }

    /// <summary>Makes the pipes over the current stream: reads of 1 KiB at least into 4 KiB segments, zero-byte reads
    /// while waiting, writes of 512 octets at least.</summary>
    public void UsePipes()
    {
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
        _writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 512, leaveOpen: true));
        _pipesReady = true;
    }

    /// <summary>
    /// Runs the TLS server handshake over the connection (implicit TLS, RFC 8314 §3.3, or the swap after STARTTLS,
    /// RFC 3207 §4.2): pipes made before are completed and anything buffered in them is dropped, so nothing the client
    /// sent in clear is read as if it came over TLS; new pipes are made over TLS. The handshake may take the idle
    /// timeout, at most <see cref="HandshakeTimeoutLimit"/>.
    /// </summary>
    /// <param name="certificates">The certificate and handshake options current at this moment.</param>
    /// <param name="legacyCiphers"><c>true</c> to accept the TLS 1.2 CBC and RSA-key-exchange suites as well (an MX
    /// listener with <c>legacy_ciphers_on_mx</c>); otherwise AEAD suites only.</param>
    /// <returns><c>true</c> when TLS is established; <c>false</c> when the handshake failed (logged), and the
    /// connection must be closed.</returns>
    public async ValueTask<bool> StartTlsAsync(TlsCertificateProvider certificates, bool legacyCiphers = false)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        if (_pipesReady)
        {
            await _reader!.CompleteAsync().ConfigureAwait(false);
            await _writer!.CompleteAsync().ConfigureAwait(false);
        }
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        TimeSpan limit = _limits.IdleTimeout < HandshakeTimeoutLimit ? _limits.IdleTimeout : HandshakeTimeoutLimit;
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await tls.AuthenticateAsServerAsync(certificates.ServerOptionsFor(legacyCiphers), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // One line per failed handshake, with the TLS library's own reason (the outer exception only says "see inner").
            _log.LogInformation("TLS handshake with {Client} failed: {Reason}", Remote,
                TlsHandshakeFailure.Reason(e, timeout.IsCancellationRequested, limit));
            await tls.DisposeAsync().ConfigureAwait(false);
            return false;
        }
        _tls = tls;
        _stream = tls;
        _certificates = certificates;
        UsePipes();
        if (tls.LocalCertificate is { } local)
        {
            using var cert = new X509Certificate2(local);
            _endPointBinding = TlsCertificateProvider.ComputeEndPointBinding(cert);
        }
        _log.LogInformation("TLS established: {Protocol} {Cipher}", tls.SslProtocol, tls.NegotiatedCipherSuite);
        RestartIdleDeadline();
        return true;
    }

    /// <summary>Sends TLS close_notify when TLS is in use (RFC 8446 §6.1: "Each party MUST send a "close_notify" alert
    /// before closing its write side of the connection").</summary>
    /// <returns>A task that completes when sent.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    public async ValueTask CloseTlsAsync()
    {
        if (_tls is not null) await _tls.ShutdownAsync().ConfigureAwait(false);
    }

    /// <summary>Starts the idle deadline and registers the connection with the heartbeat.</summary>
    public void StartDeadlines()
    {
        RestartIdleDeadline();
        _heartbeat.Add(this);
    }

    /// <summary>Unregisters the connection from the heartbeat; no abort happens after this.</summary>
    public void StopDeadlines()
    {
        _heartbeat.Remove(this);
        _finished = true;
    }

    /// <summary>Restarts the idle deadline from now (after a read, or after a TLS handshake).</summary>
    /// <returns>The timestamp of now (<see cref="TimeProvider.GetTimestamp"/>).</returns>
    public long RestartIdleDeadline()
    {
        long now = _time.GetTimestamp();
        _idleDeadline = now + ToTicks(_limits.IdleTimeout);
        return now;
    }

    /// <summary>Sets the shutdown deadline: the connection is aborted with <see cref="ConnectionAbortReason.Shutdown"/>
    /// once <paramref name="drain"/> has passed.</summary>
    /// <param name="drain">How long the session may go on finishing what it is doing.</param>
    public void SetShutdownDeadline(TimeSpan drain) => _shutdownDeadline = _time.GetTimestamp() + ToTicks(drain);

    /// <summary>Aborts the connection: cancels the pending read and flush (or ends the wait for the first octet by
    /// shutting the socket's receive side). The first reason given is kept.</summary>
    /// <param name="reason">Why.</param>
    public void Abort(ConnectionAbortReason reason)
    {
        Interlocked.CompareExchange(ref _abortReason, (int)reason, (int)ConnectionAbortReason.None);
        CancelAborted();
        if (_finished) return;
        if (!_pipesReady)
        {
            // Still waiting for the first byte: shutting the receive side ends that wait.
            try
            {
                _socket.Shutdown(SocketShutdown.Receive);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already gone.
            }
            return;
        }
        try
        {
            _reader!.CancelPendingRead();
            _writer!.CancelPendingFlush();
        }
        catch (ObjectDisposedException)
        {
            // The session ended between the check and the cancel: nothing left to cancel.
        }
    }

    /// <inheritdoc />
    public void OnHeartbeat(long nowTicks)
    {
        if (AbortReason != ConnectionAbortReason.None) return;
        if (nowTicks > _idleDeadline)
        {
            Abort(ConnectionAbortReason.IdleTimeout);
            return;
        }
        if (_shutdownDeadline != 0 && nowTicks > _shutdownDeadline)
        {
            Abort(ConnectionAbortReason.Shutdown);
            return;
        }
        long lineStart = PendingLineSince;
        if (lineStart != 0 && nowTicks - lineStart > ToTicks(_limits.CommandLineTimeout))
        {
            Abort(ConnectionAbortReason.CommandLineTimeout);
            return;
        }
        ProtocolDeadlines?.OnHeartbeat(nowTicks);
    }

    /// <summary>Completes the pipes and closes TLS: the end of the session's use of the connection.</summary>
    /// <returns>A task that completes when released.</returns>
    /// <exception cref="IOException">Closing TLS failed.</exception>
    public async ValueTask ReleaseAsync()
    {
        if (_pipesReady)
        {
            await _reader!.CompleteAsync().ConfigureAwait(false);
            await _writer!.CompleteAsync().ConfigureAwait(false);
        }
        if (_tls is not null) await _tls.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Shuts the socket down in both directions and closes it.</summary>
    /// <returns>A task that completes when closed.</returns>
    public async ValueTask CloseAsync()
    {
        CancelAborted();
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        await _network.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Cancels <see cref="Aborted"/> once; its callbacks (a DNS query giving up) run on the thread pool, not on
    /// the heartbeat that aborts.</summary>
    private void CancelAborted()
    {
        if (_aborted.IsCancellationRequested) return;
        try
        {
            _ = _aborted.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // Never disposed: the token may be held by callers after the connection ends.
        }
    }

    private long ToTicks(TimeSpan t) => (long)(t.TotalSeconds * _time.TimestampFrequency);
}
