using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;

namespace Postbote.Security.Users;

/// <summary>
/// Password hashing for the user store: Argon2id (RFC 9106) in the PHC string format for PLAIN and LOGIN, and the
/// SCRAM-SHA-256 verifier (RFC 5802 §3, RFC 7677) for SCRAM. Passwords are prepared with <see cref="SaslPrep"/> first,
/// so both checks see the same string.
/// </summary>
public static class PasswordHasher
{
    /// <summary>Argon2id memory cost <c>m</c>: 19,456 KiB (19 MiB), the first configuration the OWASP Password Storage
    /// Cheat Sheet recommends.</summary>
    public const int MemoryKib = 19456;

    /// <summary>Argon2id time cost <c>t</c>: 2 passes over the memory (OWASP, with <see cref="MemoryKib"/>).</summary>
    public const int TimeCost = 2;

    /// <summary>Argon2id parallelism <c>p</c>: 1 lane (OWASP, with <see cref="MemoryKib"/>).</summary>
    public const int Parallelism = 1;

    /// <summary>Argon2 version 0x13 (19), the only one RFC 9106 §3.1 defines.</summary>
    public const int Argon2Version = 19;

    /// <summary>Length of a new Argon2 salt: 16 bytes (RFC 9106 §3.1 recommends 16 bytes for password hashing).</summary>
    public const int SaltLength = 16;

    /// <summary>Length of the Argon2 tag: 32 bytes (256 bits).</summary>
    public const int HashLength = 32;

    /// <summary>SCRAM-SHA-256 iteration count for new users: 10,000 (RFC 7677 §4 asks for at least 4,096).</summary>
    public const int ScramIterations = 10000;

    /// <summary>The least SCRAM-SHA-256 iteration count accepted: 4,096 (RFC 7677 §4: "The hash iteration-count announced
    /// by a server SHOULD be at least 4096").</summary>
    public const int MinScramIterations = 4096;

    /// <summary>Length of a new SCRAM salt: 16 bytes.</summary>
    public const int ScramSaltLength = 16;

    /// <summary>Largest Argon2 memory cost <see cref="Verify"/> accepts from a stored hash: 1,048,576 KiB (1 GiB).</summary>
    private const int MaxMemoryKib = 1 << 20;

    /// <summary>Largest Argon2 time cost <see cref="Verify"/> accepts from a stored hash.</summary>
    private const int MaxTimeCost = 64;

    /// <summary>Largest Argon2 parallelism <see cref="Verify"/> accepts from a stored hash.</summary>
    private const int MaxParallelism = 64;

    private const string Prefix = "$argon2id$";

    /// <summary>
    /// A well-formed hash of no password anybody knows, with the default parameters: verifying a password against it
    /// costs as much as against a real hash, so an unknown user takes as long to refuse as a wrong password.
    /// </summary>
    public static string DummyHash { get; } = Format(MemoryKib, TimeCost, Parallelism, new byte[SaltLength], new byte[HashLength]);

    /// <summary>Hashes a password with Argon2id, <see cref="MemoryKib"/>, <see cref="TimeCost"/>,
    /// <see cref="Parallelism"/> and a fresh random salt.</summary>
    /// <param name="password">The password; prepared with <see cref="SaslPrep"/>.</param>
    /// <returns>The PHC string <c>$argon2id$v=19$m=19456,t=2,p=1$salt$hash</c> (salt and hash in unpadded base64).</returns>
    /// <exception cref="ArgumentException">The password is empty or contains a character SASLprep prohibits.</exception>
    public static string Hash(ReadOnlySpan<char> password)
    {
        byte[] secret = PreparedBytes(password);
        try
        {
            byte[] salt = RandomNumberGenerator.GetBytes(SaltLength);
            byte[] tag = Argon2(secret, salt, MemoryKib, TimeCost, Parallelism, HashLength);
            return Format(MemoryKib, TimeCost, Parallelism, salt, tag);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>Checks a password against a PHC-format Argon2id hash, comparing the tags in constant time.</summary>
    /// <param name="phc">The stored hash, as made by <see cref="Hash"/> (other parameters within sane bounds are accepted,
    /// so the defaults can change without invalidating old hashes).</param>
    /// <param name="password">The password to check; prepared with <see cref="SaslPrep"/>.</param>
    /// <returns><c>true</c> when the password matches; <c>false</c> when it does not, or the hash is malformed, or the
    /// password is empty or prohibited.</returns>
    public static bool Verify(string phc, ReadOnlySpan<char> password)
    {
        ArgumentNullException.ThrowIfNull(phc);
        if (!TryParse(phc, out int m, out int t, out int p, out byte[]? salt, out byte[]? expected)) return false;
        if (password.IsEmpty || !SaslPrep.TryPrepare(password, out string? prepared, out _)) return false;
        byte[] secret = Encoding.UTF8.GetBytes(prepared);
        try
        {
            byte[] actual = Argon2(secret, salt, m, t, p, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>Derives the SCRAM-SHA-256 verifier (RFC 5802 §3) with a fresh random salt.</summary>
    /// <param name="password">The password; <c>Normalize</c> is <see cref="SaslPrep"/>.</param>
    /// <param name="iterations">The iteration count <c>i</c>, at least <see cref="MinScramIterations"/>; normally
    /// <see cref="ScramIterations"/>.</param>
    /// <returns>Salt, iteration count, <c>StoredKey</c> and <c>ServerKey</c>.</returns>
    /// <exception cref="ArgumentException">The password is empty or contains a character SASLprep prohibits.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iterations"/> is below
    /// <see cref="MinScramIterations"/>.</exception>
    public static ScramCredentials DeriveScram(ReadOnlySpan<char> password, int iterations) =>
        DeriveScram(password, RandomNumberGenerator.GetBytes(ScramSaltLength), iterations);

    /// <summary>Derives the SCRAM-SHA-256 verifier (RFC 5802 §3) with a given salt (for tests against RFC 7677 §3 and
    /// for imports):
    /// <c>SaltedPassword := Hi(Normalize(password), salt, i)</c>, <c>ClientKey := HMAC(SaltedPassword, "Client Key")</c>,
    /// <c>StoredKey := H(ClientKey)</c>, <c>ServerKey := HMAC(SaltedPassword, "Server Key")</c>, where <c>Hi</c> is
    /// PBKDF2 with HMAC-SHA-256 (RFC 5802 §2.2).</summary>
    /// <param name="password">The password; <c>Normalize</c> is <see cref="SaslPrep"/>.</param>
    /// <param name="salt">The salt, at least 1 byte.</param>
    /// <param name="iterations">The iteration count <c>i</c>, at least <see cref="MinScramIterations"/>.</param>
    /// <returns>Salt, iteration count, <c>StoredKey</c> and <c>ServerKey</c>.</returns>
    /// <exception cref="ArgumentException">The password is empty or contains a character SASLprep prohibits, or the salt
    /// is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iterations"/> is below
    /// <see cref="MinScramIterations"/>.</exception>
    public static ScramCredentials DeriveScram(ReadOnlySpan<char> password, ReadOnlySpan<byte> salt, int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinScramIterations);
        if (salt.IsEmpty) throw new ArgumentException("The salt is empty.", nameof(salt));
        byte[] secret = PreparedBytes(password);
        Span<byte> salted = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> clientKey = stackalloc byte[SHA256.HashSizeInBytes];
        try
        {
            Rfc2898DeriveBytes.Pbkdf2(secret, salt, salted, iterations, HashAlgorithmName.SHA256);
            HMACSHA256.HashData(salted, "Client Key"u8, clientKey);
            byte[] storedKey = SHA256.HashData(clientKey);
            byte[] serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
            return new ScramCredentials([.. salt], iterations, ImmutableArray.Create(storedKey), ImmutableArray.Create(serverKey));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            CryptographicOperations.ZeroMemory(salted);
            CryptographicOperations.ZeroMemory(clientKey);
        }
    }

    /// <summary>Whether a string looks like a PHC Argon2id hash with parameters within the accepted bounds.</summary>
    /// <param name="phc">The string.</param>
    /// <returns><c>true</c> when <see cref="Verify(string, ReadOnlySpan{char})"/> can use it.</returns>
    public static bool IsWellFormed(string phc) => TryParse(phc, out _, out _, out _, out _, out _);

    private static byte[] PreparedBytes(ReadOnlySpan<char> password)
    {
        if (password.IsEmpty) throw new ArgumentException("The password is empty.", nameof(password));
        return Encoding.UTF8.GetBytes(SaslPrep.Prepare(password));
    }

    private static byte[] Argon2(byte[] secret, byte[] salt, int m, int t, int p, int length)
    {
        using var argon = new Argon2id(secret)
        {
            Salt = salt,
            MemorySize = m,
            Iterations = t,
            DegreeOfParallelism = p,
        };
        return argon.GetBytes(length);
    }

    private static string Format(int m, int t, int p, byte[] salt, byte[] tag) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Prefix}v={Argon2Version}$m={m},t={t},p={p}${ToB64(salt)}${ToB64(tag)}");

    private static string ToB64(byte[] data) => Convert.ToBase64String(data).TrimEnd('=');

    private static bool TryParse(string phc, out int m, out int t, out int p,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? salt,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? tag)
    {
        m = t = p = 0;
        salt = tag = null;
        if (phc is null || !phc.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        string[] parts = phc.Split('$');
        // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
        if (parts.Length != 6 || parts[2] != "v=19") return false;
        string[] parameters = parts[3].Split(',');
        if (parameters.Length != 3
            || !TryParameter(parameters[0], "m=", out m) || !TryParameter(parameters[1], "t=", out t)
            || !TryParameter(parameters[2], "p=", out p))
        {
            return false;
        }
        if (p < 1 || p > MaxParallelism || t < 1 || t > MaxTimeCost || m < 8 * p || m > MaxMemoryKib) return false;
        salt = FromB64(parts[4]);
        tag = FromB64(parts[5]);
        return salt is { Length: >= 8 } && tag is { Length: >= 16 and <= 64 };
    }

    private static bool TryParameter(string text, string name, out int value)
    {
        value = 0;
        return text.StartsWith(name, StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(name.Length), NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static byte[]? FromB64(string text)
    {
        if (text.Length == 0 || text.Length % 4 == 1) return null;
        string padded = text.Length % 4 == 0 ? text : text + new string('=', 4 - text.Length % 4);
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
