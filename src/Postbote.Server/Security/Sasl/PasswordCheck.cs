using Postbote.Security.Users;

namespace Postbote.Security.Sasl;

/// <summary>The password check shared by PLAIN and LOGIN: unknown users are checked against
/// <see cref="PasswordHasher.DummyHash"/>, so they cost the same Argon2 work as a wrong password.</summary>
internal sealed class PasswordCheck
{
    private readonly SemaphoreSlim _argon2Slots = new(Environment.ProcessorCount, Environment.ProcessorCount);

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
        try
        {
            ok = PasswordHasher.Verify(user?.PasswordHash ?? PasswordHasher.DummyHash, password.AsSpan());
        }
        finally
        {
            _argon2Slots.Release();
        }
        if (user is null) return (null, $"unknown user '{name}'");
        return ok ? (user, null) : (null, $"wrong password for '{user.Name}'");
    }
}
