using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Postbote.Queue;
using Postbote.Tracing;

namespace Postbote.Host.Control;

/// <summary>
/// The control socket <c>{data_dir}/control.sock</c>: a unix domain socket through which <c>postbote queue …</c> steers
/// the queue of the running server (the spool has one writer, the server). One request per connection, answered by the
/// <see cref="IQueueControl"/> it is given, in the line protocol of <see cref="ControlProtocol"/>.
/// </summary>
/// <remarks>
/// <para>Only the server's own user (and root) may use it: the socket file gets mode 0600 between bind(2) and listen(2),
/// before anyone can connect, and each peer's user ID is checked with <c>SO_PEERCRED</c>. A socket file left by a
/// crash is removed at start; the caller holds the data directory lock, so it belongs to no running server.</para>
/// <para>Bounds: a request line of at most <see cref="ControlProtocol.MaxRequestLength"/> octets within the request
/// timeout (10 s by default), a reply written within 30 s, at most <see cref="MaxConnections"/> connections served at
/// once (more wait in the listen backlog). A bad request gets a <c>bad</c> line; nothing a client sends stops the
/// server.</para>
/// </remarks>
public sealed class ControlServer : IAsyncDisposable
{
    /// <summary>The most connections served at once: 4.</summary>
    public const int MaxConnections = 4;

    /// <summary>How long a client has to send its request line after connecting, by default: 10 seconds.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long writing a reply may take: 30 seconds (a client that does not read is dropped).</summary>
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    private readonly string _corruptDirectory;
    private readonly IQueueControl _queue;
    private readonly ILogger<ControlServer> _log;
    private readonly TimeSpan _requestTimeout;
    private readonly TimeProvider _time;
    private readonly MessageEventStore? _trace;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _slots = new(MaxConnections, MaxConnections);
    private readonly ConcurrentDictionary<Task, bool> _serving = new();
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;

    /// <summary>Creates the server; <see cref="StartAsync"/> opens the socket.</summary>
    /// <param name="dataDirectory">The data directory, where the socket goes.</param>
    /// <param name="queue">What carries out the commands.</param>
    /// <param name="logger">Where each request is logged, one line with its outcome.</param>
    /// <param name="requestTimeout">How long a client has to send its request line; <see cref="DefaultRequestTimeout"/>
    /// when <c>null</c>.</param>
    /// <param name="timeProvider">The clock for the ages in replies; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    /// <param name="trace">The event store for <c>trace</c>, or <c>null</c> (then <c>trace</c> is refused).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="requestTimeout"/> is not positive.</exception>
    public ControlServer(string dataDirectory, IQueueControl queue, ILogger<ControlServer> logger, TimeSpan? requestTimeout = null,
        TimeProvider? timeProvider = null, MessageEventStore? trace = null)
    {
        _trace = trace;
        ArgumentNullException.ThrowIfNull(dataDirectory);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(logger);
        if (requestTimeout is { } t) ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(t, TimeSpan.Zero, nameof(requestTimeout));
        SocketPath = Path.Combine(Path.GetFullPath(dataDirectory), ControlProtocol.SocketFileName);
        _corruptDirectory = Path.Combine(Path.GetFullPath(dataDirectory), "corrupt");
        _queue = queue;
        _log = logger;
        _requestTimeout = requestTimeout ?? DefaultRequestTimeout;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The full path of the socket file.</summary>
    public string SocketPath { get; }

    /// <summary>Removes a stale socket file, binds the socket, restricts it to mode 0600, then listens and accepts.</summary>
    /// <param name="cancellationToken">Not used: opening the socket does not wait.</param>
    /// <returns>A completed task once the socket listens.</returns>
    /// <exception cref="IOException">The socket cannot be created: a directory in its place, a path longer than a unix
    /// socket address holds (107 octets), or the bind failed (the message says why).</exception>
    /// <exception cref="InvalidOperationException">The server was already started.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_listener is not null) throw new InvalidOperationException("The control server is already started.");
        if (Directory.Exists(SocketPath)) throw new IOException($"{SocketPath}: a directory is where the control socket goes");
        UnixDomainSocketEndPoint endPoint;
        try
        {
            endPoint = new UnixDomainSocketEndPoint(SocketPath);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new IOException($"{SocketPath}: longer than a unix socket address holds (107 octets); use a shorter data_dir", e);
        }
        if (File.Exists(SocketPath))
        {
            // Left by a server that did not stop cleanly: the data directory lock says none runs now.
            File.Delete(SocketPath);
            _log.LogInformation("control socket {Path}: removed the one left by an earlier run", SocketPath);
        }
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(endPoint);
            // connect(2) needs listen(2): until then nobody can connect, so the mode is in place before anyone can.
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(16);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new IOException($"{SocketPath}: cannot listen: {e.Message}", e);
        }
        _listener = listener;
        _accepting = Task.Run(AcceptAsync, CancellationToken.None);
        _log.LogInformation("control socket listening on {Path}", SocketPath);
        return Task.CompletedTask;
    }

    /// <summary>Stops accepting, lets the requests being served finish (each is bounded by its timeouts), and removes the
    /// socket file.</summary>
    /// <param name="cancellationToken">Stops waiting for the requests being served.</param>
    /// <returns>A task that completes when stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener is null || _stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        _listener.Dispose();
        try
        {
            File.Delete(SocketPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogWarning("control socket {Path}: cannot remove it: {Error}", SocketPath, e.Message);
        }
        await _accepting.ConfigureAwait(false);
        await Task.WhenAll(_serving.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops (see <see cref="StopAsync"/>) and releases the socket.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
        _slots.Dispose();
    }

    private async Task AcceptAsync()
    {
        CancellationToken stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _slots.WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Socket client;
            try
            {
                client = await _listener!.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stopping.IsCancellationRequested)
            {
                _slots.Release();
                return;
            }
            catch (SocketException e)
            {
                // EMFILE and the like: wait a little rather than spin.
                _slots.Release();
                _log.LogWarning("control socket: accept failed: {Error}", e.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            Task serving = ServeAsync(client);
            _serving[serving] = true;
            _ = serving.ContinueWith(t =>
            {
                _serving.TryRemove(t, out _);
                _slots.Release();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        await Task.Yield();
        using (client)
        {
            try
            {
                await ServeCoreAsync(client).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                _log.LogDebug("control socket: connection ended: {Error}", e.Message);
            }
            catch (Exception e)
            {
                _log.LogError(e, "control socket: request failed unexpectedly");
            }
        }
    }

    private async Task ServeCoreAsync(Socket client)
    {
        if (PeerCredentials.TryGetUid(client, out uint uid) && uid != 0 && uid != PeerCredentials.EffectiveUid())
        {
            _log.LogWarning("control socket: refused a client of uid {Uid}: only the server's user may steer the queue", uid);
            await ReplyAsync(client, [], $"{ControlProtocol.No} permission denied: uid {uid} is not the server's user").ConfigureAwait(false);
            return;
        }
        byte[] buffer = new byte[ControlProtocol.MaxRequestLength];
        int length = 0;
        bool complete = false;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
        {
            timeout.CancelAfter(_requestTimeout);
            try
            {
                while (length < buffer.Length)
                {
                    int read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        complete = true; // end of input ends the line too
                        break;
                    }
                    int lf = buffer.AsSpan(length, read).IndexOf((byte)'\n');
                    length += read;
                    if (lf >= 0)
                    {
                        length = length - read + lf + 1;
                        complete = true;
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
            {
                _log.LogInformation("control socket: no request line within {Seconds} s", _requestTimeout.TotalSeconds);
                await ReplyAsync(client, [], string.Create(CultureInfo.InvariantCulture,
                    $"{ControlProtocol.Bad} no request line within {_requestTimeout.TotalSeconds} s")).ConfigureAwait(false);
                return;
            }
        }
        if (!complete)
        {
            _log.LogInformation("control socket: refused a request line longer than {Max} octets", ControlProtocol.MaxRequestLength);
            await ReplyAsync(client, [], string.Create(CultureInfo.InvariantCulture,
                $"{ControlProtocol.Bad} request line longer than {ControlProtocol.MaxRequestLength} octets")).ConfigureAwait(false);
            return;
        }
        if (length == 0) return; // connected and closed without a word
        if (!ControlRequest.TryParse(buffer.AsSpan(0, length), out ControlRequest? request, out string? error))
        {
            _log.LogInformation("control socket: refused: {Error}", error);
            await ReplyAsync(client, [], ControlProtocol.Bad + " " + error).ConfigureAwait(false);
            return;
        }
        var (lines, status) = await ExecuteAsync(request).ConfigureAwait(false);
        _log.LogInformation("control: {Request}: {Status}", request, status);
        await ReplyAsync(client, lines, status).ConfigureAwait(false);
    }

    /// <summary>Carries out one request: the data lines and the status line of its reply.</summary>
    private async Task<(IReadOnlyList<string> Lines, string Status)> ExecuteAsync(ControlRequest request)
    {
        string id = request.Id?.Value ?? "";
        string verb = ControlProtocol.Verb(request.Command);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(ReplyTimeout);
            CancellationToken token = timeout.Token;
            switch (request.Command)
            {
                case ControlCommand.List:
                    return (QueueReport.List(_queue.List(), _time.GetUtcNow(), QueueReport.CountSetAside(_corruptDirectory)), ControlProtocol.Ok);
                case ControlCommand.Mailq:
                    return (MailqReport.Lines(_queue.List()), ControlProtocol.Ok);
                case ControlCommand.Show:
                    return _queue.Show(request.Id!.Value) is { } entry
                        ? (QueueReport.Show(entry, _time.GetUtcNow()), ControlProtocol.Ok)
                        : ([], $"{ControlProtocol.No} {id}: not in the queue");
                case ControlCommand.Flush:
                    int due = _queue.Flush();
                    return ([], string.Create(CultureInfo.InvariantCulture, $"{ControlProtocol.Ok} {due} message(s) due now"));
                case ControlCommand.Trace:
                    if (_trace is null) return ([], $"{ControlProtocol.No} the server keeps no trace");
                    TraceResult found = await _trace.FindAsync(request.Query!, token).ConfigureAwait(false);
                    return (found.Events.Select(EventLine.Format).ToList(), string.Create(CultureInfo.InvariantCulture,
                        $"{ControlProtocol.Ok} {found.Events.Count} event(s) of {found.Events.Select(e => e.Id).Distinct().Count()} message(s) from {found.Segments} segment(s), {found.Bytes} bytes"));
            }
            QueueControlResult result = request.Command switch
            {
                ControlCommand.Retry => await _queue.RetryAsync(request.Id!.Value, token).ConfigureAwait(false),
                ControlCommand.Hold => await _queue.HoldAsync(request.Id!.Value, token).ConfigureAwait(false),
                ControlCommand.Release => await _queue.ReleaseAsync(request.Id!.Value, token).ConfigureAwait(false),
                _ => await _queue.DeleteAsync(request.Id!.Value, token).ConfigureAwait(false),
            };
            return ([], result switch
            {
                QueueControlResult.Done => $"{ControlProtocol.Ok} {id}: " + request.Command switch
                {
                    ControlCommand.Retry => "due now",
                    ControlCommand.Hold => "on hold",
                    ControlCommand.Release => "released, due now",
                    _ => "deleted",
                },
                QueueControlResult.NotFound => $"{ControlProtocol.No} {id}: not in the queue",
                _ => $"{ControlProtocol.No} {id}: nothing to {verb}: " + request.Command switch
                {
                    ControlCommand.Retry => "the message is held, or no recipient waits for a retry",
                    ControlCommand.Hold => "the message is held already, or no recipient is pending",
                    ControlCommand.Release => "the message is not held",
                    _ => "the message cannot be deleted now",
                },
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            _log.LogError("control: {Request}: failed: {Error}", request, e.Message);
            return ([], ControlProtocol.No + " " + (id.Length > 0 ? id + ": " : "") + verb + " failed: " + ControlProtocol.Printable(e.Message, 200));
        }
    }

    private static async Task ReplyAsync(Socket client, IReadOnlyList<string> lines, string status)
    {
        var text = new StringBuilder();
        foreach (string line in lines) text.Append(ControlProtocol.DataPrefix).Append(ControlProtocol.Printable(line)).Append('\n');
        text.Append(ControlProtocol.Printable(status)).Append('\n');
        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await client.SendAsync(bytes.AsMemory(sent), SocketFlags.None, timeout.Token).ConfigureAwait(false);
        }
        client.Shutdown(SocketShutdown.Send);
        // Read what the client still sends (at most 64 KiB, for at most 1 s) before closing: a unix socket closed with
        // unread input makes the client's next read fail with ECONNRESET instead of ending after the reply.
        byte[] sink = new byte[4096];
        using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        for (int total = 0; total < 64 * 1024;)
        {
            int read = await client.ReceiveAsync(sink, SocketFlags.None, drain.Token).ConfigureAwait(false);
            if (read == 0) break;
            total += read;
        }
    }
}
