using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Net;
using Postbote.Protocol.Smtp;
using Postbote.Queue;
using Postbote.Security;

namespace Postbote.Smtp;

/// <summary>
/// The SMTP service: listens on the configured endpoints, enforces the connection limits (in all and per client IP), and
/// runs one <see cref="SmtpSession"/> per connection. Receiving never delivers: accepted messages go to the
/// <see cref="IMessageSink"/> (the spool) only.
/// </summary>
public sealed class SmtpServer : IAsyncDisposable
{
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _log;
    private readonly List<(Socket Socket, ListenerOptions Options)> _listeners = new();
    private readonly List<Task> _acceptLoops = new();
    private readonly ConcurrentDictionary<IPAddress, int> _perIp = new();
    private readonly TaskCompletionSource _allSessionsEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _activeSessions;
    private readonly CancellationTokenSource _stopping = new();
    private int _connections;
    private long _sessionCounter;
    private int _maxConnections;

    /// <summary>The first pause of the accept loop after accept(2) failed for want of resources (EMFILE, ENFILE,
    /// ENOBUFS): 50 ms, doubled while it lasts up to <see cref="AcceptBackoffLimit"/>, as Kestrel and nginx pause.</summary>
    private static readonly TimeSpan AcceptBackoffStart = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest pause of the accept loop: 1 second.</summary>
    private static readonly TimeSpan AcceptBackoffLimit = TimeSpan.FromSeconds(1);

    /// <summary>At most one log line about failing accepts per listener in this time: 10 seconds.</summary>
    private static readonly TimeSpan AcceptLogInterval = TimeSpan.FromSeconds(10);

    /// <summary>Creates the server; call <see cref="StartAsync"/> to listen.</summary>
    /// <param name="options">The configuration; its limits are validated here.</param>
    /// <param name="policy">The inbound policy.</param>
    /// <param name="sink">The spool.</param>
    /// <param name="loggers">Logger factory.</param>
    /// <param name="time">The clock for timeouts and timestamps.</param>
    /// <param name="tls">The TLS certificate for STARTTLS and implicit TLS, or <c>null</c> for none.</param>
    /// <param name="authentication">SASL mechanisms and failure limiter for AUTH, or <c>null</c> for no AUTH.</param>
    /// <exception cref="ArgumentOutOfRangeException">A limit in <paramref name="options"/> is out of range.</exception>
    /// <exception cref="ArgumentException">An implicit-TLS listener is configured without <paramref name="tls"/>.</exception>
    public SmtpServer(SmtpServerOptions options, IInboundPolicy policy, IMessageSink sink, ILoggerFactory loggers, TimeProvider time,
        TlsCertificateProvider? tls = null, SmtpAuthentication? authentication = null)
    {
        if (tls is null && options.Listeners.Any(l => l.ImplicitTls))
            throw new ArgumentException("an implicit-TLS (submissions) listener needs a TLS certificate", nameof(tls));
        Tls = tls;
        Authentication = authentication;
        options.Limits.Validate();
        Options = options;
        _maxConnections = options.Limits.MaxConnections;
        Policy = policy;
        Sink = sink;
        Time = time;
        _loggers = loggers;
        _log = loggers.CreateLogger("Postbote.Smtp");
        Heartbeat = new Heartbeat(time);
        EhloReply = BuildEhloReply(options);
        Greeting = System.Text.Encoding.ASCII.GetBytes(new SmtpReply(SmtpReplyCode.ServiceReady, null, options.HostName + " ESMTP").ToString());
    }

    internal SmtpServerOptions Options { get; }
    internal IInboundPolicy Policy { get; }
    internal IMessageSink Sink { get; }
    internal TimeProvider Time { get; }
    internal Heartbeat Heartbeat { get; }
    internal SmtpReply EhloReply { get; }
    internal byte[] Greeting { get; }
    internal TlsCertificateProvider? Tls { get; }
    internal SmtpAuthentication? Authentication { get; }

    /// <summary>The endpoints actually bound (with the real port when 0 was configured), in the order of
    /// <see cref="SmtpServerOptions.Listeners"/>.</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints => _listeners.Select(l => (IPEndPoint)l.Socket.LocalEndPoint!).ToList();

    /// <summary>The number of open connections.</summary>
    public int ConnectionCount => Volatile.Read(ref _connections);

    /// <summary>The connection limit in force: <see cref="SmtpServerLimits.MaxConnections"/>, lowered at
    /// <see cref="StartAsync"/> to what the process's file descriptor limit carries (<see cref="DescriptorLimit"/>).</summary>
    public int MaxConnections => Volatile.Read(ref _maxConnections);

    /// <summary>The EHLO reply (RFC 5321 §4.1.1.1): the host name, then exactly the enabled extensions.</summary>
    private static SmtpReply BuildEhloReply(SmtpServerOptions o)
    {
        var lines = new List<string> { o.HostName };
        SmtpExtensions e = o.Extensions;
        if (e.HasFlag(SmtpExtensions.Pipelining)) lines.Add("PIPELINING");
        if (e.HasFlag(SmtpExtensions.Size)) lines.Add("SIZE " + o.Limits.MessageSize);
        if (o.Vrfy) lines.Add("VRFY");
        if (o.Expn) lines.Add("EXPN");
        if (e.HasFlag(SmtpExtensions.EnhancedStatusCodes)) lines.Add("ENHANCEDSTATUSCODES");
        if (e.HasFlag(SmtpExtensions.EightBitMime)) lines.Add("8BITMIME");
        if (e.HasFlag(SmtpExtensions.SmtpUtf8)) lines.Add("SMTPUTF8");
        if (e.HasFlag(SmtpExtensions.Chunking)) lines.Add("CHUNKING");
        if (e.HasFlag(SmtpExtensions.Chunking) && e.HasFlag(SmtpExtensions.BinaryMime)) lines.Add("BINARYMIME");
        if (e.HasFlag(SmtpExtensions.Dsn)) lines.Add("DSN");
        return new SmtpReply(SmtpReplyCode.Ok, null, lines);
    }

    /// <summary>Binds every configured endpoint, then starts accepting connections: all listeners or none.</summary>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>A task that completes when all endpoints are bound.</returns>
    /// <exception cref="ListenerBindException">An endpoint cannot be bound (in use, no permission, no such address); the
    /// endpoints bound before it are closed again, so nothing listens.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        ApplyDescriptorLimit();
        var bound = new List<(Socket Socket, ListenerOptions Options)>(Options.Listeners.Count);
        foreach (ListenerOptions listener in Options.Listeners)
        {
            IPEndPoint ep = listener.EndPoint;
            var socket = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // IPv6 listeners take IPv6 only (IPV6_V6ONLY, as nginx and Postfix set it): "[::]:25" beside "0.0.0.0:25"
                // then binds instead of failing with "address already in use"; IPv4 clients need an IPv4 listener.
                if (ep.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = false;
                // No ReuseAddress: on Linux .NET maps it to SO_REUSEPORT too, which lets a second server bind the same port
                // and silently share the connections. Sockets in TIME_WAIT do not block a restart without it.
                socket.Bind(ep);
                socket.Listen(4096);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                foreach (var (earlier, _) in bound) earlier.Dispose();
                throw new ListenerBindException(listener, e);
            }
            bound.Add((socket, listener));
        }
        foreach (var (socket, listener) in bound)
        {
            _listeners.Add((socket, listener));
            _log.LogInformation("listening on {Endpoint} ({Kind}{Tls})", socket.LocalEndPoint, listener.Kind,
                Tls is null ? ", no TLS" : listener.ImplicitTls ? ", implicit TLS" : ", STARTTLS");
            _acceptLoops.Add(AcceptLoopAsync(socket, listener));
        }
        return Task.CompletedTask;
    }

    /// <summary>Lowers the connection limit to what the descriptor limit carries, with one warning naming the setting.</summary>
    private void ApplyDescriptorLimit()
    {
        if (DescriptorLimit.SoftLimit() is not { } soft) return;
        int open = DescriptorLimit.OpenNow();
        int carried = DescriptorLimit.ConnectionsFor(soft, open);
        if (Options.Limits.MaxConnections <= carried) return;
        Volatile.Write(ref _maxConnections, carried);
        _log.LogWarning("max_connections = {Configured} exceeds what the file descriptor limit allows (RLIMIT_NOFILE {Soft}, "
            + "{Open} open, {Reserved} reserved, {PerConnection} per connection): using {Carried}; raise the limit (ulimit -n, "
            + "systemd LimitNOFILE=) for more", Options.Limits.MaxConnections, soft, open, DescriptorLimit.Reserved,
            DescriptorLimit.PerConnection, carried);
    }

    private async Task AcceptLoopAsync(Socket listener, ListenerOptions options)
    {
        TimeSpan backoff = TimeSpan.Zero;
        long failures = 0, lastReport = 0;
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                continue; // the client gave up before it was accepted; nothing is wrong with the listener
            }
            catch (SocketException e)
            {
                // Out of descriptors (EMFILE, ENFILE: TooManyOpenSockets) or memory (ENOBUFS): accepting again at once would
                // fail again at once, spinning a core and the log. Pause, doubling up to 1 s while it lasts; the sessions
                // already open go on (closing one frees what the next accept needs). One log line per interval.
                backoff = backoff == TimeSpan.Zero ? AcceptBackoffStart : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, AcceptBackoffLimit.Ticks));
                failures++;
                long now = Time.GetTimestamp();
                if (lastReport == 0 || Time.GetElapsedTime(lastReport, now) >= AcceptLogInterval)
                {
                    _log.LogWarning("accept failed on {Endpoint}: {Error} ({Failures} times since the last report, {Open} connections open); "
                        + "pausing accepts for up to {Pause} ms at a time while it lasts", listener.LocalEndPoint, e.SocketErrorCode, failures,
                        ConnectionCount, (int)AcceptBackoffLimit.TotalMilliseconds);
                    lastReport = now;
                    failures = 0;
                }
                try
                {
                    await Task.Delay(backoff, Time, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) { return; }
                continue;
            }
            backoff = TimeSpan.Zero; // the report interval stays: accepts that fail and succeed by turns log once per interval
            // No Task.Run closure and no per-connection task bookkeeping: an idle connection should cost as little memory
            // as possible. A counter tells StopAsync when the last session has ended.
            Interlocked.Increment(ref _activeSessions);
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Server.ServeAsync(state.Client, state.Options),
                (Server: this, Client: client, Options: options), preferLocal: false);
        }
    }

    private async Task ServeAsync(Socket client, ListenerOptions listener)
    {
        IPEndPoint remote, local;
        try
        {
            remote = (IPEndPoint)client.RemoteEndPoint!;
            local = (IPEndPoint)client.LocalEndPoint!;
            client.NoDelay = true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Gone before it could be served.
            client.Dispose();
            if (Interlocked.Decrement(ref _activeSessions) == 0 && _stopping.IsCancellationRequested) _allSessionsEnded.TrySetResult();
            return;
        }
        IPAddress ip = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        string id = Interlocked.Increment(ref _sessionCounter).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        int total = Interlocked.Increment(ref _connections);
        int fromIp = _perIp.AddOrUpdate(ip, 1, static (_, n) => n + 1);
        // The session ID rides along in a scope when sessions are logged at all (information level, the default); at
        // warning level the scope is skipped, it would cost about 0.2 KiB per idle connection for nothing.
        using IDisposable? scope = _log.IsEnabled(LogLevel.Information) ? _log.BeginScope("session {SessionId}", id) : null;
        var stream = new NetworkStream(client, ownsSocket: true);
        try
        {
            int maxConnections = MaxConnections;
            if (total > maxConnections || fromIp > Options.Limits.MaxConnectionsPerIp)
            {
                SmtpReply refusal = total > maxConnections
                    ? new SmtpReply(SmtpReplyCode.ServiceNotAvailable, EnhancedStatusCode.Congestion, Options.HostName + " Error: too many connections")
                    : new SmtpReply(SmtpReplyCode.ServiceNotAvailable, EnhancedStatusCode.TemporarySecurity, Options.HostName + $" Error: too many connections from {ip}");
                _log.LogWarning("refusing {Client}: {Connections} connections, {FromIp} from this address", remote, total, fromIp);
                // On an implicit-TLS port a clear-text reply would be garbage to the client: close without one.
                if (!listener.ImplicitTls) await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(refusal.ToString())).ConfigureAwait(false);
                return;
            }
            _log.LogInformation("connect from {Client}", remote);
            var info = new SessionInfo(id, remote, local, Options.IsTrusted(ip));
            var session = new SmtpSession(this, listener, stream, info, _log);
            await session.RunAsync(_stopping.Token).ConfigureAwait(false);
            _log.LogInformation("disconnect from {Client}", remote);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            _log.LogDebug("connection from {Client} lost: {Error}", remote, e.Message); // the session has said so already
        }
        catch (Exception e)
        {
            _log.LogError(e, "session with {Client} failed", remote);
        }
        finally
        {
            try { client.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
            await stream.DisposeAsync().ConfigureAwait(false);
            Interlocked.Decrement(ref _connections);
            if (_perIp.AddOrUpdate(ip, 0, static (_, n) => n - 1) <= 0) _perIp.TryRemove(new KeyValuePair<IPAddress, int>(ip, 0));
            if (Interlocked.Decrement(ref _activeSessions) == 0 && _stopping.IsCancellationRequested) _allSessionsEnded.TrySetResult();
        }
    }

    /// <summary>
    /// Stops listening and drains: idle sessions get <c>421 4.3.2</c> at once; sessions receiving a message may finish
    /// it for up to <see cref="SmtpServerLimits.ShutdownTimeout"/>, then get <c>421</c> and their message is discarded
    /// unacknowledged.
    /// </summary>
    /// <param name="cancellationToken">Gives up waiting for sessions.</param>
    /// <returns>A task that completes when every session has ended or waiting was given up.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        foreach (var l in _listeners) l.Socket.Dispose();
        try { await Task.WhenAll(_acceptLoops).ConfigureAwait(false); } catch (OperationCanceledException) { }
        if (Volatile.Read(ref _activeSessions) == 0) _allSessionsEnded.TrySetResult();
        Task all = _allSessionsEnded.Task;
        Task limit = Task.Delay(Options.Limits.ShutdownTimeout + TimeSpan.FromSeconds(5), Time, cancellationToken);
        await Task.WhenAny(all, limit).ConfigureAwait(false);
        _log.LogInformation("SMTP service stopped; {Open} connections still open", ConnectionCount);
    }

    /// <summary>Stops the server and its heartbeat.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        Heartbeat.Dispose();
        _stopping.Dispose();
    }
}
