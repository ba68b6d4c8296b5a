using System.Collections.Concurrent;
using Postbote.Security.Users;

namespace Postbote.Tests.Security;

/// <summary>An in-memory <see cref="IUserStore"/> and a few users whose Argon2 hashes are computed once per test run.</summary>
public sealed class InMemoryUserStore : IUserStore
{
    private readonly ConcurrentDictionary<string, UserRecord> _users = new(StringComparer.OrdinalIgnoreCase);

    public InMemoryUserStore(params UserRecord[] users)
    {
        foreach (UserRecord u in users) _users[u.Name] = u;
    }

    public ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_users.GetValueOrDefault(name));

    public IReadOnlyList<UserRecord> List() => _users.Values.OrderBy(u => u.Name, StringComparer.OrdinalIgnoreCase).ToArray();

    public void AddOrUpdate(UserRecord user) => _users[user.Name] = user;

    public bool Remove(string name) => _users.TryRemove(name, out _);
}

public static class TestUsers
{
    public const string AlicePassword = "correct horse battery staple";

    private static readonly Lazy<UserRecord> LazyAlice = new(() => Make("alice@example.com", AlicePassword, anySender: false));
    private static readonly Lazy<UserRecord> LazyAdmin = new(() => Make("admin@example.com", "admin secret", anySender: true));

    public static UserRecord Alice => LazyAlice.Value;

    public static UserRecord Admin => LazyAdmin.Value;

    public static InMemoryUserStore Store() => new(Alice, Admin);

    public static UserRecord Make(string name, string password, bool anySender = false, params string[] addresses) =>
        new(name, PasswordHasher.Hash(password), PasswordHasher.DeriveScram(password, PasswordHasher.MinScramIterations),
            addresses, anySender);
}

/// <summary>A clock that moves only when told.</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private DateTimeOffset _now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
