using System.Collections.Concurrent;
using System.Net;

namespace Postbote.Security;

/// <summary>
/// The SMTP-after-POP window (<c>[pop3] smtp_after_pop</c>): an address may relay until <see cref="Window"/> after its
/// last POP3 login, measured on an injected clock. Per exact address (an IPv6 client is not widened to its /64: a
/// neighbour in the same network must not inherit the right). Memory is bounded: expired entries are dropped as new
/// logins arrive, and beyond <see cref="MaxAddresses"/> live entries the oldest are dropped. Thread-safe.
/// </summary>
public sealed class SmtpAfterPopWindow : ISmtpAfterPop
{
    /// <summary>The most addresses held at once: 100,000 (about 10 MiB).</summary>
    public const int MaxAddresses = 100_000;

    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<IPAddress, DateTimeOffset> _until = new();

    /// <summary>Creates the window.</summary>
    /// <param name="window">How long after a POP3 login the address may relay; more than zero.</param>
    /// <param name="time">The clock.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="window"/> is zero or negative.</exception>
    public SmtpAfterPopWindow(TimeSpan window, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(time);
        Window = window;
        _time = time;
    }

    /// <summary>How long after a POP3 login the address may relay.</summary>
    public TimeSpan Window { get; }

    /// <summary>The number of addresses held now (expired ones included until they are dropped).</summary>
    public int Count => _until.Count;

    /// <inheritdoc />
    public void RecordLogin(IPAddress client)
    {
        ArgumentNullException.ThrowIfNull(client);
        DateTimeOffset now = _time.GetUtcNow();
        if (_until.Count >= MaxAddresses / 2) Prune(now);
        _until[Normalize(client)] = now + Window;
    }

    /// <inheritdoc />
    public bool MayRelay(IPAddress client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return _until.TryGetValue(Normalize(client), out DateTimeOffset until) && _time.GetUtcNow() < until;
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (address, until) in _until)
            if (until <= now) _until.TryRemove(new KeyValuePair<IPAddress, DateTimeOffset>(address, until));
        if (_until.Count < MaxAddresses) return;
        foreach (var (address, until) in _until.OrderBy(p => p.Value).Take(_until.Count - MaxAddresses + 1).ToList())
            _until.TryRemove(new KeyValuePair<IPAddress, DateTimeOffset>(address, until));
    }

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
