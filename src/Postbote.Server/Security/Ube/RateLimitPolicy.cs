using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Postbote.Core;

namespace Postbote.Security.Ube;

/// <summary>
/// Rate limits per client and per authenticated user (<see cref="RateLimitOptions"/>), each a
/// <see cref="KeyedRateLimiter"/>: connections at connect (<c>421 4.7.0 host Error: too many connections from [ip]</c>,
/// and the connection is closed), messages at MAIL and recipients at RCPT (<c>451 4.7.1 Error: too much mail from
/// [ip]: rate limit exceeded</c>, <c>… too many recipients from [ip] …</c>, <c>… too much mail from user U …</c>).
/// A client is its IPv4 address, or the /64 of its IPv6 address (one host usually owns a whole /64). Trusted networks
/// are exempt; an authenticated session counts against its user's limit instead of the client's message and recipient
/// limits.
/// </summary>
public sealed class RateLimitPolicy : IInboundPolicy, IDisposable
{
    private static readonly EnhancedStatusCode RateExceeded = new(4, 7, 1);
    private readonly string _hostName;
    private readonly KeyedRateLimiter? _connections;
    private readonly KeyedRateLimiter? _messages;
    private readonly KeyedRateLimiter? _users;
    private readonly KeyedRateLimiter? _recipients;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">The limits; 0 turns one off.</param>
    /// <param name="hostName">The server's name for the 421 reply.</param>
    /// <param name="time">The clock the windows run on.</param>
    /// <exception cref="ArgumentOutOfRangeException">A limit is negative or a window not positive.</exception>
    public RateLimitPolicy(RateLimitOptions options, string hostName, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.ConnectionsPerClient);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MessagesPerClient);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MessagesPerUser);
        ArgumentOutOfRangeException.ThrowIfNegative(options.RecipientsPerClient);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ConnectionWindow, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.MessageWindow, TimeSpan.Zero);
        _hostName = hostName;
        KeyedRateLimiter? Make(int limit, TimeSpan window) => limit > 0 ? new KeyedRateLimiter(limit, window, options.MaxTracked, time) : null;
        _connections = Make(options.ConnectionsPerClient, options.ConnectionWindow);
        _messages = Make(options.MessagesPerClient, options.MessageWindow);
        _users = Make(options.MessagesPerUser, options.MessageWindow);
        _recipients = Make(options.RecipientsPerClient, options.MessageWindow);
    }

    /// <summary>The key of a client: its IPv4 address, or its IPv6 /64 written as a network.</summary>
    /// <param name="address">The client's address.</param>
    /// <returns>For example <c>192.0.2.1</c> or <c>2001:db8:1:2::/64</c>.</returns>
    public static string ClientKey(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) return address.ToString();
        byte[] b = address.GetAddressBytes();
        Array.Clear(b, 8, 8);
        return new IPAddress(b) + "/64";
    }

    private static IPAddress Client(SessionInfo s) => s.Remote.Address.IsIPv4MappedToIPv6 ? s.Remote.Address.MapToIPv4() : s.Remote.Address;

    private static bool Acquire(KeyedRateLimiter limiter, string key, out TimeSpan retryAfter)
    {
        using RateLimitLease lease = limiter.AttemptAcquire(key);
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan after) ? after : TimeSpan.Zero;
        return lease.IsAcquired;
    }

    /// <inheritdoc />
    public ValueTask<PolicyDecision> CheckConnectAsync(SessionInfo session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (_connections is null || session.IsTrustedNetwork) return ValueTask.FromResult(PolicyDecision.Accept);
        IPAddress client = Client(session);
        if (Acquire(_connections, ClientKey(client), out TimeSpan after)) return ValueTask.FromResult(PolicyDecision.Accept);
        return ValueTask.FromResult(PolicyDecision.Defer(
            new SmtpReply(SmtpReplyCode.ServiceNotAvailable, EnhancedStatusCode.TemporarySecurity, $"{_hostName} Error: too many connections from [{client}]"),
            $"connection rate limit: client [{client}] over {ClientKey(client)}'s connections per minute, next in {after.TotalSeconds:0} s"));
    }

    /// <inheritdoc />
    public ValueTask<PolicyDecision> CheckMailAsync(SessionInfo session, PolicyTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (session.AuthenticatedUser is { } user)
        {
            if (_users is null || Acquire(_users, user.ToLowerInvariant(), out TimeSpan userAfter)) return ValueTask.FromResult(PolicyDecision.Accept);
            return ValueTask.FromResult(PolicyDecision.Defer(
                new SmtpReply(SmtpReplyCode.LocalError, RateExceeded, $"Error: too much mail from user {user}: rate limit exceeded"),
                $"message rate limit: user {user} (client [{Client(session)}]) over its messages per hour, next in {userAfter.TotalSeconds:0} s"));
        }
        if (_messages is null || session.IsTrustedNetwork) return ValueTask.FromResult(PolicyDecision.Accept);
        IPAddress client = Client(session);
        if (Acquire(_messages, ClientKey(client), out TimeSpan after)) return ValueTask.FromResult(PolicyDecision.Accept);
        return ValueTask.FromResult(PolicyDecision.Defer(
            new SmtpReply(SmtpReplyCode.LocalError, RateExceeded, $"Error: too much mail from [{client}]: rate limit exceeded"),
            $"message rate limit: client [{client}] over its messages per hour, next in {after.TotalSeconds:0} s"));
    }

    /// <inheritdoc />
    public ValueTask<PolicyDecision> CheckRecipientAsync(SessionInfo session, PolicyTransaction transaction, Mailbox recipient,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (_recipients is null || session.IsOwnClient) return ValueTask.FromResult(PolicyDecision.Accept);
        IPAddress client = Client(session);
        if (Acquire(_recipients, ClientKey(client), out TimeSpan after)) return ValueTask.FromResult(PolicyDecision.Accept);
        return ValueTask.FromResult(PolicyDecision.Defer(
            new SmtpReply(SmtpReplyCode.LocalError, RateExceeded, $"Error: too many recipients from [{client}]: rate limit exceeded"),
            $"recipient rate limit: client [{client}] over its recipients per hour, next in {after.TotalSeconds:0} s"));
    }

    /// <summary>Releases the limiters.</summary>
    public void Dispose()
    {
        _connections?.Dispose();
        _messages?.Dispose();
        _users?.Dispose();
        _recipients?.Dispose();
    }
}
