using System.Text;
using Postbote.Security.Users;

namespace Postbote.Security.Sasl;

/// <summary>
/// The LOGIN mechanism (draft-murchison-sasl-login-00), for old clients: the server asks <c>Username:</c> and then
/// <c>Password:</c>; an initial response, if given, is the user name. Sends the password in clear: offered only under TLS
/// unless the listener allows otherwise.
/// </summary>
public sealed class LoginMechanism : PasswordMechanism
{
    /// <summary>The registered name.</summary>
    public const string MechanismName = "LOGIN";

    private static readonly byte[] UsernamePrompt = Encoding.ASCII.GetBytes("Username:");
    private static readonly byte[] PasswordPrompt = Encoding.ASCII.GetBytes("Password:");


    /// <summary>Creates the mechanism.</summary>
    /// <param name="users">The accounts.</param>
    /// <exception cref="ArgumentNullException"><paramref name="users"/> is null.</exception>
    public LoginMechanism(IUserStore users) : base(users, null)
    {
    }

    /// <summary>Creates the mechanism over a password check shared with the other password mechanisms.</summary>
    /// <param name="users">The accounts.</param>
    /// <param name="check">The shared Argon2id check with its limit of concurrent checks.</param>
    /// <exception cref="ArgumentNullException"><paramref name="users"/> is null.</exception>
    internal LoginMechanism(IUserStore users, PasswordCheck check) : base(users, check)
    {
    }

    /// <inheritdoc />
    public override string Name => MechanismName;

    /// <inheritdoc />
    public override ISaslExchange Start(SaslContext context) => new Exchange(Users, Check);

    private sealed class Exchange(IUserStore users, PasswordCheck check) : ISaslExchange
    {
        /// <summary>Start, user name, password.</summary>
        private const int MaxSteps = 3;

        private int _steps;
        private bool _done;
        private string? _username;

        public async ValueTask<SaslStep> StepAsync(byte[]? response, CancellationToken cancellationToken)
        {
            if (_done) return SaslStep.Failure("LOGIN: exchange already finished");
            if (++_steps > MaxSteps)
            {
                _done = true;
                return SaslStep.Failure("LOGIN: too many steps");
            }
            if (_steps == 1 && response is null) return SaslStep.Challenge(UsernamePrompt.ToArray());
            if (response is null)
            {
                _done = true;
                return SaslStep.Malformed("LOGIN: missing response");
            }
            if (_username is null)
            {
                if (response.Length == 0 || !SaslUtf8.TryDecode(response, out string? name))
                {
                    _done = true;
                    return SaslStep.Malformed("LOGIN: empty or invalid user name");
                }
                _username = name;
                return SaslStep.Challenge(PasswordPrompt.ToArray());
            }
            _done = true;
            if (response.Length == 0 || !SaslUtf8.TryDecode(response, out string? password))
                return SaslStep.Malformed("LOGIN: empty or invalid password");
            (UserRecord? user, string? reason) = await check.CheckAsync(users, _username, password, cancellationToken).ConfigureAwait(false);
            return user is null ? SaslStep.Failure("LOGIN: " + reason) : SaslStep.Success(user.Name);
        }
    }
}
