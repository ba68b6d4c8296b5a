using Postbote.Security.Users;

namespace Postbote.Security.Sasl;

/// <summary>
/// The PLAIN mechanism (RFC 4616): one message <c>[authzid] NUL authcid NUL passwd</c> in UTF-8. The authorization
/// identity must be empty or the authentication identity itself (case-insensitively); acting for another user is not
/// supported. Sends the password in clear: offered only under TLS unless the listener allows otherwise (RFC 4954 §4).
/// </summary>
public sealed class PlainMechanism : PasswordMechanism
{
    /// <summary>The registered name.</summary>
    public const string MechanismName = "PLAIN";


    /// <summary>Creates the mechanism.</summary>
    /// <param name="users">The accounts.</param>
    /// <exception cref="ArgumentNullException"><paramref name="users"/> is null.</exception>
    public PlainMechanism(IUserStore users) : base(users, null)
    {
    }

    /// <summary>Creates the mechanism over a password check shared with the other password mechanisms.</summary>
    /// <param name="users">The accounts.</param>
    /// <param name="check">The shared Argon2id check with its limit of concurrent checks.</param>
    /// <exception cref="ArgumentNullException"><paramref name="users"/> is null.</exception>
    internal PlainMechanism(IUserStore users, PasswordCheck check) : base(users, check)
    {
    }

    /// <inheritdoc />
    public override string Name => MechanismName;

    /// <inheritdoc />
    public override ISaslExchange Start(SaslContext context) => new Exchange(Users, Check);

    private sealed class Exchange(IUserStore users, PasswordCheck check) : ISaslExchange
    {
        /// <summary>An empty challenge, then the message: at most 2 steps here, 3 with the caller's margin.</summary>
        private const int MaxSteps = 3;

        private int _steps;
        private bool _done;

        public async ValueTask<SaslStep> StepAsync(byte[]? response, CancellationToken cancellationToken)
        {
            if (_done) return SaslStep.Failure("PLAIN: exchange already finished");
            if (++_steps > MaxSteps)
            {
                _done = true;
                return SaslStep.Failure("PLAIN: too many steps");
            }
            // RFC 4954 §4: with no initial response the server sends an empty challenge.
            if (response is null) return SaslStep.Challenge([]);
            _done = true;

            // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
            ReadOnlySpan<byte> message = response;
            int first = message.IndexOf((byte)0);
            int second = first < 0 ? -1 : message[(first + 1)..].IndexOf((byte)0);
            if (first < 0 || second < 0) return SaslStep.Malformed("PLAIN: expected two NUL separators");
            second += first + 1;
            if (message[(second + 1)..].Contains((byte)0)) return SaslStep.Malformed("PLAIN: more than two NUL separators");
            ReadOnlySpan<byte> authzidBytes = message[..first];
            ReadOnlySpan<byte> authcidBytes = message[(first + 1)..second];
            ReadOnlySpan<byte> passwdBytes = message[(second + 1)..];
            if (authcidBytes.IsEmpty || passwdBytes.IsEmpty) return SaslStep.Malformed("PLAIN: empty authcid or passwd");
            if (!SaslUtf8.TryDecode(authzidBytes, out string? authzid) || !SaslUtf8.TryDecode(authcidBytes, out string? authcid)
                || !SaslUtf8.TryDecode(passwdBytes, out string? passwd))
            {
                return SaslStep.Malformed("PLAIN: invalid UTF-8");
            }

            (UserRecord? user, string? reason) = await check.CheckAsync(users, authcid, passwd, cancellationToken).ConfigureAwait(false);
            if (user is null) return SaslStep.Failure("PLAIN: " + reason);
            // RFC 4616 §2: "If the preparation of the authorization identity fails or results in an empty string, the
            // server MUST derive the authorization identity from the authentication identity."
            if (authzid.Length > 0 && !string.Equals(authzid, user.Name, StringComparison.OrdinalIgnoreCase))
                return SaslStep.Failure($"PLAIN: authorization identity not permitted ('{user.Name}' asked to act as '{authzid}')");
            return SaslStep.Success(user.Name);
        }
    }
}
