namespace Postbote.Security.Users;

/// <summary>
/// One account that may authenticate with SMTP AUTH (RFC 4954) and submit mail.
/// </summary>
/// <param name="Name">The login, normally an address such as <c>alice@example.com</c>; compared case-insensitively
/// (ordinal, <see cref="StringComparer.OrdinalIgnoreCase"/>).</param>
/// <param name="PasswordHash">The password as a PHC-format Argon2id string
/// (<c>$argon2id$v=19$m=19456,t=2,p=1$salt$hash</c>, see <see cref="PasswordHasher"/>), checked for PLAIN and LOGIN.</param>
/// <param name="Scram">The SCRAM-SHA-256 verifier (RFC 5802 §3), checked for SCRAM-SHA-256 and SCRAM-SHA-256-PLUS.</param>
/// <param name="Addresses">Further addresses, besides <paramref name="Name"/>, that the user may use as envelope sender
/// (<c>MAIL FROM</c>) and in <c>From:</c>.</param>
/// <param name="AnySender">Whether the user may send as any address (a trusted application or an administrator).</param>
public sealed record UserRecord(string Name, string PasswordHash, ScramCredentials Scram, IReadOnlyList<string> Addresses,
    bool AnySender)
{
    /// <summary>The longest login name or address: 320 characters (64 for the local part, 1 for <c>@</c>, 255 for the
    /// domain).</summary>
    public const int MaxNameLength = 320;

    /// <summary>Whether <paramref name="name"/> is usable as a login or an extra address: 1 to
    /// <see cref="MaxNameLength"/> characters, without white space or control characters.</summary>
    /// <param name="name">The name.</param>
    /// <returns><c>true</c> when it is.</returns>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength) return false;
        foreach (char c in name)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c)) return false;
        }
        return true;
    }

    /// <summary>Whether the user may send mail as <paramref name="address"/>: it is the login or one of
    /// <see cref="Addresses"/> (compared case-insensitively), or the user has <see cref="AnySender"/>.</summary>
    /// <param name="address">The sender address, without angle brackets.</param>
    /// <returns><c>true</c> when the address is the user's.</returns>
    public bool MaySendAs(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (AnySender || string.Equals(address, Name, StringComparison.OrdinalIgnoreCase)) return true;
        foreach (string a in Addresses)
        {
            if (string.Equals(address, a, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }
}
