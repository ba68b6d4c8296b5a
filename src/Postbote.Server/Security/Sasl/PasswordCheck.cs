using Postbote.Security.Users;

namespace Postbote.Security.Sasl;

/// <summary>The password check shared by PLAIN and LOGIN: unknown users are checked against
/// <see cref="PasswordHasher.DummyHash"/>, so they cost the same Argon2 work as a wrong password. One instance serves
/// every password mechanism of a server, so its limit bounds all Argon2id checks together.</summary>
internal sealed class PasswordCheck
{
    private readonly SemaphoreSlim _argon2Slots;
    private int _running;
    private int _peak;

    /// <summary>Creates the check.</summary>
    /// <param name="slots">How many Argon2id checks may run at once (each takes about 19 MiB); at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slots"/> is below 1.</exception>
    public PasswordCheck(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        Slots = slots;
        _argon2Slots = new SemaphoreSlim(slots, slots);
    }

    /// <summary>How many Argon2id checks may run at once.</summary>
    public int Slots { get; }

    /// <summary>The most checks that ran at the same time so far (count).</summary>
    public int Peak => Volatile.Read(ref _peak);

    /// <summary>Looks the user up and verifies the password.</summary>
    /// <param name="users">The user store.</param>
    /// <param name="name">The authentication identity.</param>
    /// <param name="password">The password as received.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The user when the password is right; otherwise <c>null</c> and why, for the log.</returns>
    public async ValueTask<(UserRecord? User, string? Reason)> CheckAsync(IUserStore users, string name, string password,
        CancellationToken cancellationToken)
    {
        UserRecord? user = await users.FindAsync(name, cancellationToken).ConfigureAwait(false);
        // Each Argon2id check takes about 19 MiB for tens of milliseconds: at most one per core runs at a time, so a
        // burst of AUTH attempts queues here instead of growing memory without bound.
        await _argon2Slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        bool ok;
        int running = Interlocked.Increment(ref _running);
        try
        {
            for (int peak = Volatile.Read(ref _peak); running > peak; peak = Volatile.Read(ref _peak))
                if (Interlocked.CompareExchange(ref _peak, running, peak) == peak) break;
            ok = PasswordHasher.Verify(user?.PasswordHash ?? PasswordHasher.DummyHash, password.AsSpan());
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _argon2Slots.Release();
        }
        if (user is null) return (null, $"unknown user '{name}'");
        return ok ? (user, null) : (null, $"wrong password for '{user.Name}'");
    }
}
