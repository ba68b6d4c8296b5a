namespace Postbote.Security.Users;

/// <summary>The checks a <see cref="UserRecord"/> passes before a store keeps it.</summary>
internal static class UserRecordValidator
{
    /// <summary>Checks a record.</summary>
    /// <param name="user">The record.</param>
    /// <exception cref="ArgumentException">A field is missing or malformed.</exception>
    public static void Validate(UserRecord user)
    {
        if (!UserRecord.IsValidName(user.Name)) throw new ArgumentException($"invalid user name '{user.Name}'", nameof(user));
        if (user.PasswordHash is null || !PasswordHasher.IsWellFormed(user.PasswordHash))
            throw new ArgumentException($"user '{user.Name}': the password hash is not a PHC Argon2id string", nameof(user));
        ScramCredentials? scram = user.Scram;
        if (scram is null || scram.Salt.IsDefaultOrEmpty || scram.Iterations < PasswordHasher.MinScramIterations
            || scram.StoredKey.IsDefault || scram.StoredKey.Length != 32 || scram.ServerKey.IsDefault || scram.ServerKey.Length != 32)
        {
            throw new ArgumentException($"user '{user.Name}': the SCRAM-SHA-256 verifier is malformed", nameof(user));
        }
        if (user.Addresses is null) throw new ArgumentException($"user '{user.Name}': addresses missing", nameof(user));
        foreach (string address in user.Addresses)
        {
            if (!UserRecord.IsValidName(address)) throw new ArgumentException($"user '{user.Name}': invalid address '{address}'", nameof(user));
        }
    }
}
