namespace Postbote.Delivery.Smtp;

/// <summary>
/// The idle connections of <see cref="SmtpDeliveryAgent"/>, kept per server (<c>name[address]:port</c>) for a short
/// time so that the next message to the same server needs no new connection, greeting, EHLO and TLS handshake. A
/// connection idle longer than the idle time is closed with QUIT by a sweep that runs twice per idle time.
/// </summary>
internal sealed class SmtpConnectionPool : IAsyncDisposable
{
    private readonly Dictionary<string, List<(SmtpClientSession Session, long Since)>> _idle = new(StringComparer.Ordinal);
    private readonly List<Task> _closing = [];
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _idleTime;
    private readonly int _maxPerHost;
    private readonly ITimer? _sweeper;
    private bool _disposed;

    /// <summary>Creates the pool.</summary>
    /// <param name="time">The clock.</param>
    /// <param name="idleTime">How long an idle connection is kept; zero keeps none.</param>
    /// <param name="maxPerHost">The most idle connections per server.</param>
    public SmtpConnectionPool(TimeProvider time, TimeSpan idleTime, int maxPerHost)
    {
        _time = time;
        _idleTime = idleTime;
        _maxPerHost = maxPerHost;
        if (idleTime > TimeSpan.Zero && maxPerHost > 0)
        {
            TimeSpan period = idleTime / 2 < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : idleTime / 2;
            _sweeper = time.CreateTimer(static s => ((SmtpConnectionPool)s!).Sweep(), this, period, period);
        }
    }

    /// <summary>The number of idle connections held now.</summary>
    public int IdleCount
    {
        get
        {
            lock (_lock) return _idle.Values.Sum(l => l.Count);
        }
    }

    /// <summary>Takes the most recently used idle connection to <paramref name="key"/>, or <c>null</c>.</summary>
    /// <param name="key">The server, <see cref="SmtpClientSession.RemoteHost"/>.</param>
    /// <returns>A connection that the caller owns now (send RSET before the next transaction), or <c>null</c>.</returns>
    public SmtpClientSession? TryTake(string key)
    {
        lock (_lock)
        {
            if (!_idle.TryGetValue(key, out var list)) return null;
            while (list.Count > 0)
            {
                var (session, since) = list[^1];
                list.RemoveAt(list.Count - 1);
                if (!Expired(since) && session.IsUsable) return session;
                Close(session);
            }
            return null;
        }
    }

    /// <summary>Keeps a connection that finished a transaction, or closes it when the server has enough idle ones.</summary>
    /// <param name="session">The connection; the pool owns it now.</param>
    public void Return(SmtpClientSession session)
    {
        lock (_lock)
        {
            if (_disposed || _sweeper is null || !session.IsUsable)
            {
                Close(session);
                return;
            }
            if (!_idle.TryGetValue(session.RemoteHost, out var list)) _idle[session.RemoteHost] = list = [];
            if (list.Count >= _maxPerHost) Close(session);
            else list.Add((session, _time.GetTimestamp()));
        }
    }

    private void Sweep()
    {
        lock (_lock)
        {
            foreach (var (key, list) in _idle)
            {
                for (int i = list.Count - 1; i >= 0; i--)
                {
                    if (!Expired(list[i].Since) && list[i].Session.IsUsable) continue;
                    Close(list[i].Session);
                    list.RemoveAt(i);
                }
                if (list.Count == 0) _idle.Remove(key);
            }
            _closing.RemoveAll(t => t.IsCompleted);
        }
    }

    private bool Expired(long since) => _time.GetElapsedTime(since) >= _idleTime;

    /// <summary>Sends QUIT in the background; <see cref="DisposeAsync"/> waits for every one.</summary>
    private void Close(SmtpClientSession session) => _closing.Add(Task.Run(session.QuitAsync));

    /// <summary>Closes every idle connection with QUIT and waits until they are closed.</summary>
    /// <returns>A task that completes when every connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        Task[] closing;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _sweeper?.Dispose();
            foreach (var list in _idle.Values)
            {
                foreach (var (session, _) in list) Close(session);
            }
            _idle.Clear();
            closing = [.. _closing];
        }
        await Task.WhenAll(closing).ConfigureAwait(false);
    }
}
