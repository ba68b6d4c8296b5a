using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Postbote.Net;

/// <summary>
/// Listens on a protocol's endpoints (all bound or none), accepts connections, enforces the connection limits (in all,
/// lowered to what the file descriptor limit carries, and per client address) and runs one protocol session per
/// connection, made by the protocol's <see cref="IProtocolSessionFactory{TEndPoint}"/>. When accept(2) fails for want of
/// descriptors or memory it pauses instead of spinning. Knows nothing of the protocol it serves.
/// </summary>
/// <typeparam name="TEndPoint">The protocol's description of a listener.</typeparam>
public sealed class ConnectionListener<TEndPoint> : IAsyncDisposable where TEndPoint : IListenerEndPoint
{
    /// <summary>The first pause of the accept loop after accept(2) failed for want of resources (EMFILE, ENFILE,
    /// ENOBUFS): 50 ms, doubled while it lasts up to <see cref="AcceptBackoffLimit"/>, as Kestrel and nginx pause.</summary>
    private static readonly TimeSpan AcceptBackoffStart = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest pause of the accept loop: 1 second.</summary>
    private static readonly TimeSpan AcceptBackoffLimit = TimeSpan.FromSeconds(1);

    /// <summary>At most one log line about failing accepts per listener in this time: 10 seconds.</summary>
    private static readonly TimeSpan AcceptLogInterval = TimeSpan.FromSeconds(10);

    private readonly IReadOnlyList<TEndPoint> _endPoints;
    private readonly ConnectionLimits _limits;
    private readonly IProtocolSessionFactory<TEndPoint> _sessions;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly List<(Socket Socket, TEndPoint EndPoint)> _listeners = new();
    private readonly List<Task> _acceptLoops = new();
    private readonly ConcurrentDictionary<IPAddress, int> _perIp = new();
    private readonly TaskCompletionSource _allSessionsEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private int _activeSessions;
    private int _connections;
    private long _sessionCounter;
    private int _maxConnections;

    /// <summary>Creates the listener and its heartbeat; call <see cref="Start"/> to listen.</summary>
    /// <param name="endPoints">The endpoints, bound in this order.</param>
    /// <param name="limits">The connection limits and timeouts (validated by their owner).</param>
    /// <param name="sessions">Makes the protocol session of each connection.</param>
    /// <param name="log">Where connections, refusals and failing accepts are logged (the protocol's logger).</param>
    /// <param name="time">The clock for deadlines and the accept back-off.</param>
    public ConnectionListener(IReadOnlyList<TEndPoint> endPoints, ConnectionLimits limits, IProtocolSessionFactory<TEndPoint> sessions,
        ILogger log, TimeProvider time)
    {
        _endPoints = endPoints;
        _limits = limits;
        _sessions = sessions;
        _log = log;
        _time = time;
        _maxConnections = limits.MaxConnections;
        Heartbeat = new Heartbeat(time);
    }

    /// <summary>The one timer that checks every connection's deadlines.</summary>
    public Heartbeat Heartbeat { get; }

    /// <summary>The endpoints actually bound (with the real port when 0 was configured), in the order given.</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints => _listeners.Select(l => (IPEndPoint)l.Socket.LocalEndPoint!).ToList();

    /// <summary>The listeners bound, each with its endpoint description, in the order given.</summary>
    public IEnumerable<(IPEndPoint Bound, TEndPoint Listener)> Bound => _listeners.Select(l => ((IPEndPoint)l.Socket.LocalEndPoint!, l.EndPoint));

    /// <summary>Whether <see cref="StopAsync"/> has begun.</summary>
    public bool IsStopping => _stopping.IsCancellationRequested;

    /// <summary>The number of open connections.</summary>
    public int ConnectionCount => Volatile.Read(ref _connections);

    /// <summary>The connection limit in force: <see cref="ConnectionLimits.MaxConnections"/>, lowered at
    /// <see cref="Start"/> to what the process's file descriptor limit carries (<see cref="DescriptorLimit"/>).</summary>
    public int MaxConnections => Volatile.Read(ref _maxConnections);

    /// <summary>Binds every endpoint, then starts accepting connections: all listeners or none.</summary>
    /// <exception cref="EndPointBindException">An endpoint cannot be bound (in use, no permission, no such address); the
    /// endpoints bound before it are closed again, so nothing listens.</exception>
    public void Start()
    {
        ApplyDescriptorLimit();
        var bound = new List<(Socket Socket, TEndPoint EndPoint)>(_endPoints.Count);
        for (int i = 0; i < _endPoints.Count; i++)
        {
            IPEndPoint ep = _endPoints[i].EndPoint;
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
                throw new EndPointBindException(i, ep, e);
            }
            bound.Add((socket, _endPoints[i]));
        }
        foreach (var (socket, endPoint) in bound)
        {
            _listeners.Add((socket, endPoint));
            _acceptLoops.Add(AcceptLoopAsync(socket, endPoint));
        }
    }

    /// <summary>Lowers the connection limit to what the descriptor limit carries, with one line naming the setting: a
    /// warning when that is less than 90 % of the setting, else information (the embedded default of 10,000 under a
    /// limit of 20,000 descriptors comes out a few dozen short, which needs no action).</summary>
    private void ApplyDescriptorLimit()
    {
        if (DescriptorLimit.SoftLimit() is not { } soft) return;
        int open = DescriptorLimit.OpenNow();
        int carried = DescriptorLimit.ConnectionsFor(soft, open);
        if (_limits.MaxConnections <= carried) return;
        Volatile.Write(ref _maxConnections, carried);
        _log.Log(carried < _limits.MaxConnections * 0.9 ? LogLevel.Warning : LogLevel.Information,
            "max_connections = {Configured} exceeds what the file descriptor limit allows (RLIMIT_NOFILE {Soft}, "
            + "{Open} open, {Reserved} reserved, {PerConnection} per connection): using {Carried}; raise the limit (ulimit -n, "
            + "systemd LimitNOFILE=) for more", _limits.MaxConnections, soft, open, DescriptorLimit.Reserved,
            DescriptorLimit.PerConnection, carried);
    }

    private async Task AcceptLoopAsync(Socket listener, TEndPoint endPoint)
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
            catch (SocketException) when (_stopping.IsCancellationRequested)
            {
                return; // the listener was closed under a pending accept (EBADF, OperationAborted …) because the server stops
            }
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
                long now = _time.GetTimestamp();
                if (lastReport == 0 || _time.GetElapsedTime(lastReport, now) >= AcceptLogInterval)
                {
                    _log.LogWarning("accept failed on {Endpoint}: {Error} ({Failures} times since the last report, {Open} connections open); "
                        + "pausing accepts for up to {Pause} ms at a time while it lasts", listener.LocalEndPoint, e.SocketErrorCode, failures,
                        ConnectionCount, (int)AcceptBackoffLimit.TotalMilliseconds);
                    lastReport = now;
                    failures = 0;
                }
                try
                {
                    await Task.Delay(backoff, _time, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) { return; }
                continue;
            }
            backoff = TimeSpan.Zero; // the report interval stays: accepts that fail and succeed by turns log once per interval
            // No Task.Run closure and no per-connection task bookkeeping: an idle connection should cost as little memory
            // as possible. A counter tells StopAsync when the last session has ended.
            Interlocked.Increment(ref _activeSessions);
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Listener.ServeAsync(state.Client, state.EndPoint),
                (Listener: this, Client: client, EndPoint: endPoint), preferLocal: false);
        }
    }

    private async Task ServeAsync(Socket client, TEndPoint endPoint)
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
            SessionEnded();
            return;
        }
        IPAddress ip = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        string id = Interlocked.Increment(ref _sessionCounter).ToString("x", CultureInfo.InvariantCulture);
        int total = Interlocked.Increment(ref _connections);
        int fromIp = _perIp.AddOrUpdate(ip, 1, static (_, n) => n + 1);
        // The session ID rides along in a scope when sessions are logged at all (information level, the default); at
        // warning level the scope is skipped, it would cost about 0.2 KiB per idle connection for nothing.
        using IDisposable? scope = _log.IsEnabled(LogLevel.Information) ? _log.BeginScope("session {SessionId}", id) : null;
        var connection = new Connection(id, client, remote, local, _limits, Heartbeat, _time, _log);
        try
        {
            int maxConnections = MaxConnections;
            if (total > maxConnections || fromIp > _limits.MaxConnectionsPerIp)
            {
                ReadOnlyMemory<byte> refusal = _sessions.Refusal(endPoint,
                    total > maxConnections ? ConnectionRefusal.TooManyConnections : ConnectionRefusal.TooManyFromAddress, ip);
                _log.LogWarning("refusing {Client}: {Connections} connections, {FromIp} from this address", remote, total, fromIp);
                if (!refusal.IsEmpty) await connection.WriteAsync(refusal).ConfigureAwait(false);
                return;
            }
            _log.LogInformation("connect from {Client}", remote);
            try
            {
                await _sessions.Create(connection, endPoint).RunAsync(_stopping.Token).ConfigureAwait(false);
            }
            finally
            {
                await connection.ReleaseAsync().ConfigureAwait(false);
            }
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
            await connection.CloseAsync().ConfigureAwait(false);
            Interlocked.Decrement(ref _connections);
            if (_perIp.AddOrUpdate(ip, 0, static (_, n) => n - 1) <= 0) _perIp.TryRemove(new KeyValuePair<IPAddress, int>(ip, 0));
            SessionEnded();
        }
    }

    private void SessionEnded()
    {
        if (Interlocked.Decrement(ref _activeSessions) == 0 && _stopping.IsCancellationRequested) _allSessionsEnded.TrySetResult();
    }

    /// <summary>
    /// Stops listening and signals every session to stop (the token its <see cref="IProtocolSession.RunAsync"/> got),
    /// then waits for the sessions to end.
    /// </summary>
    /// <param name="drainLimit">The longest wait for sessions.</param>
    /// <param name="cancellationToken">Gives up waiting for sessions.</param>
    /// <returns>A task that completes when every session has ended or waiting was given up.</returns>
    public async Task StopAsync(TimeSpan drainLimit, CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        foreach (var l in _listeners) l.Socket.Dispose();
        try { await Task.WhenAll(_acceptLoops).ConfigureAwait(false); } catch (OperationCanceledException) { }
        if (Volatile.Read(ref _activeSessions) == 0) _allSessionsEnded.TrySetResult();
        Task all = _allSessionsEnded.Task;
        Task limit = Task.Delay(drainLimit, _time, cancellationToken);
        await Task.WhenAny(all, limit).ConfigureAwait(false);
    }

    /// <summary>Stops the listener (waiting at most 5 seconds for sessions if it was still running) and its heartbeat.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        Heartbeat.Dispose();
        _stopping.Dispose();
    }
}
