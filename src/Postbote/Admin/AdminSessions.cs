using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Threading.RateLimiting;
using Postbote.Security.Users;

namespace Postbote.Host.Admin;

/// <summary>
/// Logins to the queue page: a user of the user store who is listed in <c>[admin] users</c>, checked with the store's
/// Argon2id hash. A login gets a random session ID (the HttpOnly, SameSite=Strict cookie <see cref="CookieName"/>) and a
/// random CSRF token that every changing request must carry in the <see cref="CsrfHeader"/> header. Login attempts are
/// limited per client address (<see cref="AdminOptions.LoginAttempts"/> per <see cref="AdminOptions.LoginWindow"/>,
/// System.Threading.RateLimiting), successful or not.
/// </summary>
public sealed class AdminSessions : IDisposable
{
    /// <summary>The session cookie's name.</summary>
    public const string CookieName = "postbote_session";

    /// <summary>The request header that carries the CSRF token on every POST but the login.</summary>
    public const string CsrfHeader = "X-Postbote-Csrf";

    private readonly AdminOptions _options;
    private readonly IUserStore? _users;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, AdminSession> _sessions = new(StringComparer.Ordinal);
    private readonly PartitionedRateLimiter<IPAddress> _logins;

    /// <summary>Creates the login keeper.</summary>
    /// <param name="options">The allowed users and the bounds.</param>
    /// <param name="users">The user store, or <c>null</c> when AUTH is off (then every login is refused).</param>
    /// <param name="time">The clock of session expiry.</param>
    public AdminSessions(AdminOptions options, IUserStore? users, TimeProvider time)
    {
        _options = options;
        _users = users;
        _time = time;
        _logins = PartitionedRateLimiter.Create<IPAddress, IPAddress>(ip => RateLimitPartition.GetFixedWindowLimiter(ip, _ =>
            new FixedWindowRateLimiterOptions { PermitLimit = options.LoginAttempts, Window = options.LoginWindow, QueueLimit = 0 }));
    }

    /// <summary>Whether the page is on: at least one user is allowed.</summary>
    public bool Enabled => _options.Users.Count > 0 && _users is not null;

    /// <summary>Checks a login.</summary>
    /// <param name="client">The client's address, for the rate limit.</param>
    /// <param name="user">The user name.</param>
    /// <param name="password">The password.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The new session, <c>null</c> when refused; <c>Limited</c> says when refused for too many attempts.</returns>
    public async Task<(AdminSession? Session, bool Limited)> LoginAsync(IPAddress client, string user, string password, CancellationToken cancellationToken)
    {
        using RateLimitLease lease = _logins.AttemptAcquire(client);
        if (!lease.IsAcquired) return (null, true);
        bool allowed = Enabled && _options.Users.Any(u => string.Equals(u, user, StringComparison.OrdinalIgnoreCase));
        UserRecord? record = allowed && _users is not null ? await _users.FindAsync(user, cancellationToken).ConfigureAwait(false) : null;
        // The same work for an unknown user as for a wrong password.
        bool ok = PasswordHasher.Verify(record?.PasswordHash ?? PasswordHasher.DummyHash, password) && record is not null;
        if (!ok) return (null, false);
        var session = new AdminSession(record!.Name, Token(), Token()) { LastUse = _time.GetUtcNow() };
        _sessions[session.Id] = session;
        return (session, false);
    }

    /// <summary>The live session of a cookie value, its last use renewed.</summary>
    /// <param name="id">The cookie's value, or <c>null</c>.</param>
    /// <returns>The session, or <c>null</c> when none or expired.</returns>
    public AdminSession? Find(string? id)
    {
        if (id is null || !_sessions.TryGetValue(id, out AdminSession? s)) return null;
        DateTimeOffset now = _time.GetUtcNow();
        if (now - s.LastUse > _options.SessionIdleTime)
        {
            _sessions.TryRemove(id, out _);
            return null;
        }
        s.LastUse = now;
        return s;
    }

    /// <summary>Ends a session.</summary>
    /// <param name="id">The cookie's value.</param>
    public void Logout(string id) => _sessions.TryRemove(id, out _);

    private static string Token() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>Releases the rate limiter.</summary>
    public void Dispose() => _logins.Dispose();
}
