using System.Collections.Immutable;

namespace Postbote.Security.Users;

/// <summary>
/// What the server keeps to verify a SCRAM-SHA-256 client (RFC 5802 §3, RFC 7677): the salt and iteration count that
/// produce <c>SaltedPassword := Hi(Normalize(password), salt, i)</c>, and the two keys derived from it. Neither the
/// password nor <c>SaltedPassword</c> (which is password-equivalent) is kept; <c>StoredKey</c> lets the server check a
/// client proof and <c>ServerKey</c> lets it prove itself, but a thief of both still cannot log in as the user with
/// SCRAM (RFC 5802 §9) without also running a dictionary attack.
/// </summary>
/// <param name="Salt">The salt, 16 random bytes for new users.</param>
/// <param name="Iterations">The PBKDF2 iteration count <c>i</c>; at least 4,096 (RFC 7677 §4: "The hash iteration-count
/// announced by a server SHOULD be at least 4096"); new users get <see cref="PasswordHasher.ScramIterations"/>.</param>
/// <param name="StoredKey"><c>H(ClientKey)</c>, 32 bytes (SHA-256).</param>
/// <param name="ServerKey"><c>HMAC(SaltedPassword, "Server Key")</c>, 32 bytes.</param>
public sealed record ScramCredentials(ImmutableArray<byte> Salt, int Iterations, ImmutableArray<byte> StoredKey,
    ImmutableArray<byte> ServerKey);
