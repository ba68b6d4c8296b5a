using System.Collections;
using System.Security.Cryptography;
using Postbote.Security.Users;

namespace Postbote.Security.Sasl;

/// <summary>
/// The SASL mechanisms the server implements, strongest first: SCRAM-SHA-256-PLUS, SCRAM-SHA-256, PLAIN, LOGIN
/// (the order EHLO lists them in, RFC 4954 §3). Names are looked up case-insensitively (RFC 4422 §3.1).
/// </summary>
public sealed class SaslMechanisms : IReadOnlyList<ISaslMechanism>
{
    private readonly ISaslMechanism[] _mechanisms;

    /// <summary>Creates the registry with all four mechanisms over one user store.</summary>
    /// <param name="users">The accounts.</param>
    /// <param name="serverSecret">At least 16 bytes of server secret for SCRAM's fake salts of unknown users; keep it
    /// across restarts (<see cref="ScramServerSecret.LoadOrCreate"/>). <c>null</c> for a random one per instance, under
    /// which the fake salt of an unknown name changes at each restart.</param>
    /// <exception cref="ArgumentException">The server secret is shorter than 16 bytes.</exception>
    public SaslMechanisms(IUserStore users, byte[]? serverSecret = null)
    {
        ArgumentNullException.ThrowIfNull(users);
        byte[] secret = serverSecret ?? RandomNumberGenerator.GetBytes(ScramServerSecret.Length);
        // One Argon2id limit for PLAIN and LOGIN together: at most one check per core, whichever mechanism asks.
        // SCRAM needs none: it compares HMACs against the stored keys, which were salted and iterated at `user add`.
        PasswordCheck = new PasswordCheck(Environment.ProcessorCount);
        _mechanisms =
        [
            new ScramSha256Mechanism(users, channelBinding: true, secret),
            new ScramSha256Mechanism(users, channelBinding: false, secret),
            new PlainMechanism(users, PasswordCheck),
            new LoginMechanism(users, PasswordCheck),
        ];
    }

    /// <summary>The Argon2id check that every password mechanism of this registry shares; <c>null</c> for a registry of
    /// given mechanisms.</summary>
    internal PasswordCheck? PasswordCheck { get; }

    /// <summary>Creates a registry of given mechanisms, in the given order.</summary>
    /// <param name="mechanisms">The mechanisms, strongest first.</param>
    /// <exception cref="ArgumentException">Two mechanisms have the same name.</exception>
    public SaslMechanisms(IEnumerable<ISaslMechanism> mechanisms)
    {
        ArgumentNullException.ThrowIfNull(mechanisms);
        _mechanisms = mechanisms.ToArray();
        if (_mechanisms.Select(m => m.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != _mechanisms.Length)
            throw new ArgumentException("Two mechanisms have the same name.", nameof(mechanisms));
    }

    /// <summary>The number of mechanisms.</summary>
    public int Count => _mechanisms.Length;

    /// <summary>A mechanism by position in preference order.</summary>
    /// <param name="index">0 for the strongest.</param>
    /// <returns>The mechanism.</returns>
    /// <exception cref="IndexOutOfRangeException"><paramref name="index"/> is outside 0 to <see cref="Count"/> − 1.</exception>
    public ISaslMechanism this[int index] => _mechanisms[index];

    /// <summary>Looks a mechanism up by name, case-insensitively.</summary>
    /// <param name="name">The name from <c>AUTH name</c>.</param>
    /// <returns>The mechanism, or <c>null</c> when not implemented.</returns>
    public ISaslMechanism? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (ISaslMechanism m in _mechanisms)
        {
            if (string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase)) return m;
        }
        return null;
    }

    /// <summary>The mechanisms to offer on a connection, in preference order: those available on it, without the
    /// plaintext ones (PLAIN, LOGIN) on a connection without TLS unless <paramref name="allowPlaintext"/>.</summary>
    /// <param name="context">The connection.</param>
    /// <param name="allowPlaintext">Whether plaintext mechanisms may be offered without TLS.</param>
    /// <returns>The mechanisms.</returns>
    public IReadOnlyList<ISaslMechanism> Offered(SaslContext context, bool allowPlaintext)
    {
        ArgumentNullException.ThrowIfNull(context);
        return _mechanisms.Where(m => m.IsAvailable(context) && (context.IsTls || allowPlaintext || !m.IsPlaintext)).ToArray();
    }

    /// <inheritdoc />
    public IEnumerator<ISaslMechanism> GetEnumerator() => ((IEnumerable<ISaslMechanism>)_mechanisms).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
