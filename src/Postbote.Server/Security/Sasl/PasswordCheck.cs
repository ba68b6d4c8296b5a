using Postbote.Security.Users;

namespace Postbote.Security.Sasl;

/// <summary>The password check shared by PLAIN and LOGIN: unknown users are checked against
/// <see cref="PasswordHasher.DummyHash"/>, so they cost the same Argon2 work as a wrong password.</summary>
internal static class PasswordCheck
{
    /// <summary>Looks the user up and verifies the password.</summary>
    /// <param name="users">The user store.</param>
    /// <param name="name">The authentication identity.</param>
    /// <param name="password">The password as received.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The user when the password is right; otherwise <c>null</c> and why, for the log.</returns>
    public static async ValueTask<(UserRecord? User, string? Reason)> CheckAsync(IUserStore users, string name, string password,
        CancellationToken cancellationToken)
    {
        UserRecord? user = await users.FindAsync(name, cancellationToken).ConfigureAwait(false);
        bool ok = PasswordHasher.Verify(user?.PasswordHash ?? PasswordHasher.DummyHash, password.AsSpan());
        if (user is null) return (null, $"unknown user '{name}'");
        return ok ? (user, null) : (null, $"wrong password for '{user.Name}'");
    }
}
