using Postbote.Security.Users;

namespace Postbote.Security.Sasl;

/// <summary>
/// The common part of the mechanisms that carry the password itself (PLAIN, LOGIN): checked against the Argon2id hash
/// of the user store, with a bounded number of checks at a time (one bound for all password mechanisms of a registry). They send the password in clear, so they are offered
/// only under TLS unless the listener allows otherwise (RFC 4954 §4).
/// </summary>
public abstract class PasswordMechanism : ISaslMechanism
{
    private protected PasswordMechanism(IUserStore users, PasswordCheck? check)
    {
        ArgumentNullException.ThrowIfNull(users);
        Users = users;
        Check = check ?? new PasswordCheck(Environment.ProcessorCount);
    }

    private protected IUserStore Users { get; }

    /// <summary>The Argon2id check and its limit of concurrent checks; <see cref="SaslMechanisms"/> gives PLAIN and LOGIN
    /// the same one, so the limit holds for both together.</summary>
    internal PasswordCheck Check { get; }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public bool IsPlaintext => true;

    /// <inheritdoc />
    public bool IsAvailable(SaslContext context) => true;

    /// <inheritdoc />
    public abstract ISaslExchange Start(SaslContext context);
}
