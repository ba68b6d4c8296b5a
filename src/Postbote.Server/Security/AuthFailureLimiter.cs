using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Postbote.Security;

/// <summary>
/// Counts failed SMTP AUTH attempts per client address and blocks an address that has too many: after
/// <see cref="AuthFailureLimiterOptions.MaxFailures"/> failures within <see cref="AuthFailureLimiterOptions.Window"/>,
/// AUTH from it gets <c>454 4.7.0</c> (RFC 4954 §6, "Temporary authentication failure") for
/// <see cref="AuthFailureLimiterOptions.BlockTime"/>, whatever the credentials, so that a password cannot be guessed at
/// speed. Other addresses are unaffected. IPv4 clients are counted per address (IPv4-mapped IPv6 as IPv4), IPv6 clients
/// per /64 prefix, as one host usually owns a whole /64. Memory is bounded: entries whose window and block have passed
/// are dropped, and beyond <see cref="AuthFailureLimiterOptions.MaxTrackedAddresses"/> the least recently active address
/// is forgotten. Thread-safe.
/// </summary>
/// <remarks>
/// A password check takes time (Argon2id), so a client that opens many connections at once could have every one of its
/// guesses checked before the first failure is counted. The session therefore reserves an attempt with
/// <see cref="TryBeginAttempt"/> before the check and settles it with <see cref="EndAttempt"/>: a success or an exchange
/// that checked nothing releases the reservation, a failure turns it into a counted failure. Reservations and failures
/// together never exceed <see cref="AuthFailureLimiterOptions.MaxFailures"/> for one address in a window, however many
/// connections it opens.
/// </remarks>
public sealed class AuthFailureLimiter
{
    private readonly AuthFailureLimiterOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<UInt128, LinkedListNode<Entry>> _entries = [];
    /// <summary>Entries from least to most recently active.</summary>
    private readonly LinkedList<Entry> _recency = new();

    /// <summary>Creates the limiter.</summary>
    /// <param name="options">The limits; validated here.</param>
    /// <param name="timeProvider">The clock; <c>null</c> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">Logs a warning when an address gets blocked; <c>null</c> for none.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public AuthFailureLimiter(AuthFailureLimiterOptions options, TimeProvider? timeProvider = null, ILogger<AuthFailureLimiter>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The number of addresses currently tracked.</summary>
    public int TrackedCount
    {
        get
        {
            lock (_lock) return _entries.Count;
        }
    }

    /// <summary>Whether AUTH from <paramref name="address"/> is refused now.</summary>
    /// <param name="address">The client's address.</param>
    /// <param name="remaining">How long the block lasts still; <see cref="TimeSpan.Zero"/> when not blocked.</param>
    /// <returns><c>true</c> when blocked: reply <c>454 4.7.0</c> without running the exchange.</returns>
    public bool IsBlocked(IPAddress address, out TimeSpan remaining)
    {
        ArgumentNullException.ThrowIfNull(address);
        DateTimeOffset now = _time.GetUtcNow();
        lock (_lock)
        {
            if (_entries.TryGetValue(KeyOf(address), out LinkedListNode<Entry>? node) && node.Value.BlockedUntil > now)
            {
                remaining = node.Value.BlockedUntil - now;
                return true;
            }
        }
        remaining = TimeSpan.Zero;
        return false;
    }

    /// <summary>Reserves one attempt for <paramref name="address"/> before its credentials are checked. Refused when the
    /// address is blocked, or when its failures in the current window plus the attempts still being checked have reached
    /// <see cref="AuthFailureLimiterOptions.MaxFailures"/>. Every reservation must be settled with
    /// <see cref="EndAttempt"/>.</summary>
    /// <param name="address">The client's address.</param>
    /// <returns><c>true</c> when the exchange may run; <c>false</c>: reply <c>454 4.7.0</c> without running it.</returns>
    public bool TryBeginAttempt(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        DateTimeOffset now = _time.GetUtcNow();
        lock (_lock)
        {
            Prune(now);
            Entry entry = Touch(KeyOf(address), now);
            if (entry.BlockedUntil > now) return false;
            StartNewWindowIfDue(entry, now);
            if (entry.Failures + entry.InFlight >= _options.MaxFailures) return false;
            entry.InFlight++;
            return true;
        }
    }

    /// <summary>Settles an attempt reserved with <see cref="TryBeginAttempt"/>.</summary>
    /// <param name="address">The client's address, as given to <see cref="TryBeginAttempt"/>.</param>
    /// <param name="failed"><c>true</c> when the credentials were wrong (counted as a failure, which may block the
    /// address); <c>false</c> when they were right or the exchange ended before anything was checked (the reservation is
    /// released).</param>
    public void EndAttempt(IPAddress address, bool failed)
    {
        ArgumentNullException.ThrowIfNull(address);
        DateTimeOffset now = _time.GetUtcNow();
        bool blocked = false;
        lock (_lock)
        {
            Entry entry = Touch(KeyOf(address), now);
            if (entry.InFlight > 0) entry.InFlight--;
            if (failed) blocked = CountFailure(entry, now);
        }
        if (blocked) LogBlocked(address);
    }

    /// <summary>Counts a failed attempt (wrong password, unknown user) that was not reserved; blocks the address when it
    /// reaches the limit.</summary>
    /// <param name="address">The client's address.</param>
    public void RecordFailure(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        DateTimeOffset now = _time.GetUtcNow();
        bool blocked;
        lock (_lock)
        {
            Prune(now);
            blocked = CountFailure(Touch(KeyOf(address), now), now);
        }
        if (blocked) LogBlocked(address);
    }

    /// <summary>The entry of <paramref name="key"/>, created when missing, moved to the most recently active end.
    /// Called under the lock.</summary>
    private Entry Touch(UInt128 key, DateTimeOffset now)
    {
        if (_entries.TryGetValue(key, out LinkedListNode<Entry>? node))
        {
            _recency.Remove(node);
        }
        else
        {
            while (_entries.Count >= _options.MaxTrackedAddresses && _recency.First is { } oldest)
            {
                _recency.RemoveFirst();
                _entries.Remove(oldest.Value.Key);
            }
            node = new LinkedListNode<Entry>(new Entry(key) { WindowStart = now });
            _entries[key] = node;
        }
        _recency.AddLast(node);
        node.Value.LastActivity = now;
        return node.Value;
    }

    private void StartNewWindowIfDue(Entry entry, DateTimeOffset now)
    {
        if (now - entry.WindowStart < _options.Window) return;
        entry.WindowStart = now;
        entry.Failures = 0;
    }

    /// <summary>Counts one failure; returns whether it blocked the address. Called under the lock.</summary>
    private bool CountFailure(Entry entry, DateTimeOffset now)
    {
        if (entry.BlockedUntil > now) return false; // already blocked: attempts are refused before they can fail
        StartNewWindowIfDue(entry, now);
        entry.Failures++;
        if (entry.Failures < _options.MaxFailures) return false;
        entry.BlockedUntil = now + _options.BlockTime;
        entry.Failures = 0;
        entry.WindowStart = entry.BlockedUntil;
        return true;
    }

    private void LogBlocked(IPAddress address) =>
        _logger.LogWarning("AUTH: {Client} blocked for {Seconds} s after {Failures} failed attempts within {Window} s",
            Describe(address), (int)_options.BlockTime.TotalSeconds, _options.MaxFailures, (int)_options.Window.TotalSeconds);

    /// <summary>Notes a successful authentication. It neither lifts a block nor clears the failures counted so far:
    /// otherwise a client with one valid account could interleave successes with guesses at other accounts and never be
    /// blocked.</summary>
    /// <param name="address">The client's address.</param>
    public void RecordSuccess(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_lock)
        {
            Prune(_time.GetUtcNow());
        }
    }

    /// <summary>Drops entries from the least recently active end whose window and block have passed.</summary>
    private void Prune(DateTimeOffset now)
    {
        while (_recency.First is { } oldest && oldest.Value.InFlight == 0 && oldest.Value.BlockedUntil <= now
               && now - oldest.Value.LastActivity >= _options.Window)
        {
            _recency.RemoveFirst();
            _entries.Remove(oldest.Value.Key);
        }
    }

    /// <summary>The counting key: an IPv4 address as <c>::ffff:a.b.c.d</c>, an IPv6 address by its first 64 bits.</summary>
    private static UInt128 KeyOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            bytes[10] = 0xFF;
            bytes[11] = 0xFF;
            address.TryWriteBytes(bytes[12..], out _);
            return BinaryPrimitives.ReadUInt128BigEndian(bytes);
        }
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear(); // a /64 prefix: the low 64 bits are zero, which no IPv4 key has
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private static string Describe(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    private sealed class Entry(UInt128 key)
    {
        public UInt128 Key { get; } = key;
        public DateTimeOffset WindowStart { get; set; }
        public DateTimeOffset LastActivity { get; set; }
        public DateTimeOffset BlockedUntil { get; set; } = DateTimeOffset.MinValue;
        public int Failures { get; set; }
        /// <summary>Attempts reserved and not yet settled.</summary>
        public int InFlight { get; set; }
    }
}
