using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Postbote.Security.Users;

namespace Postbote.Security.Sasl;

/// <summary>
/// SCRAM-SHA-256 (RFC 5802 with SHA-256, RFC 7677) and, with channel binding (RFC 5056), SCRAM-SHA-256-PLUS. The
/// password never crosses the wire and the server keeps only <c>StoredKey</c> and <c>ServerKey</c>
/// (<see cref="ScramCredentials"/>); the server proves itself with <c>v=ServerSignature</c> in the success data.
/// </summary>
/// <remarks>
/// <para>Exchange (RFC 5802 §5): client-first-message <c>gs2-header n=user,r=cnonce</c> → server-first-message
/// <c>r=cnonce snonce,s=salt,i=iterations</c> → client-final-message <c>c=base64(gs2-header [cb-data]),r=…,p=proof</c> →
/// server-final-message <c>v=signature</c>.</para>
/// <para>Unknown users get a salt and keys derived from a server secret and the name, so the exchange runs to the end
/// and looks the same as for a wrong password; only then does it fail.</para>
/// <para>Channel binding: the -PLUS variant requires <c>p=</c> with one of <see cref="ChannelBindingTypes.All"/> that the
/// connection provides. The plain variant fails a client that sends <c>y</c> while the -PLUS variant is offered on the
/// connection (RFC 5802 §6: "If the flag is set to "y" and the server supports channel binding, the server MUST fail
/// authentication"), as that signals a downgrade by a man in the middle.</para>
/// </remarks>
public sealed class ScramSha256Mechanism : ISaslMechanism
{
    /// <summary>The registered name without channel binding.</summary>
    public const string MechanismName = "SCRAM-SHA-256";

    /// <summary>The registered name with channel binding.</summary>
    public const string PlusMechanismName = "SCRAM-SHA-256-PLUS";

    /// <summary>Random bytes in the server's part of the nonce: 24, sent as 32 base64 characters.</summary>
    public const int ServerNonceLength = 24;

    /// <summary>Length of the fake salt given to unknown users: 16 bytes, as for real ones.</summary>
    private const int FakeSaltLength = PasswordHasher.ScramSaltLength;

    private readonly IUserStore _users;
    private readonly byte[] _serverSecret;
    private readonly Func<string> _serverNonce;

    /// <summary>Creates the mechanism.</summary>
    /// <param name="users">The accounts.</param>
    /// <param name="channelBinding"><c>true</c> for SCRAM-SHA-256-PLUS, <c>false</c> for SCRAM-SHA-256.</param>
    /// <param name="serverSecret">At least 16 bytes of server secret for the fake salt of unknown users (see
    /// <see cref="ScramServerSecret"/>).</param>
    /// <param name="serverNonce">Makes the server's part of the nonce (printable ASCII without <c>,</c>); <c>null</c> for
    /// <see cref="ServerNonceLength"/> random bytes in base64. For tests against fixed vectors.</param>
    /// <exception cref="ArgumentException">The server secret is shorter than 16 bytes.</exception>
    public ScramSha256Mechanism(IUserStore users, bool channelBinding, byte[] serverSecret, Func<string>? serverNonce = null)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(serverSecret);
        if (serverSecret.Length < 16) throw new ArgumentException("The server secret must have at least 16 bytes.", nameof(serverSecret));
        _users = users;
        _serverSecret = serverSecret.ToArray();
        _serverNonce = serverNonce ?? (() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(ServerNonceLength)));
        ChannelBinding = channelBinding;
    }

    /// <summary>Whether this is the -PLUS variant.</summary>
    public bool ChannelBinding { get; }

    /// <summary>For the plain variant: whether the -PLUS variant is offered too whenever the connection has
    /// channel-binding data, which makes a client's <c>y</c> flag a downgrade (RFC 5802 §6). Defaults to <c>true</c>.</summary>
    public bool PlusOffered { get; init; } = true;

    /// <inheritdoc />
    public string Name => ChannelBinding ? PlusMechanismName : MechanismName;

    /// <inheritdoc />
    public bool IsPlaintext => false;

    /// <inheritdoc />
    public bool IsAvailable(SaslContext context) => !ChannelBinding || ChannelBindingTypes.AnyAvailable(context);

    /// <inheritdoc />
    public ISaslExchange Start(SaslContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new Exchange(this, context);
    }

    /// <summary>Salt and keys for a user name that does not exist: HMAC-SHA-256 of the server secret and the lower-cased
    /// name, so the same name always gets the same salt, as a real user would.</summary>
    private ScramCredentials FakeCredentials(string name)
    {
        string key = name.ToLowerInvariant();
        byte[] salt = HMACSHA256.HashData(_serverSecret, Encoding.UTF8.GetBytes("scram-salt\0" + key));
        byte[] stored = HMACSHA256.HashData(_serverSecret, Encoding.UTF8.GetBytes("scram-stored-key\0" + key));
        byte[] server = HMACSHA256.HashData(_serverSecret, Encoding.UTF8.GetBytes("scram-server-key\0" + key));
        return new ScramCredentials([.. salt.AsSpan(0, FakeSaltLength)], PasswordHasher.ScramIterations, [.. stored], [.. server]);
    }

    private sealed class Exchange(ScramSha256Mechanism mechanism, SaslContext context) : ISaslExchange
    {
        /// <summary>An optional empty challenge, client-first, client-final.</summary>
        private const int MaxSteps = 3;

        private int _steps;
        private State _state;
        private string _gs2Header = "";
        private string _authzid = "";
        private string _username = "";
        private byte[] _channelBindingData = [];
        private string _clientFirstBare = "";
        private string _serverFirst = "";
        private string _nonce = "";
        private UserRecord? _user;
        private ScramCredentials? _credentials;

        private enum State
        {
            ClientFirst,
            ClientFinal,
            Done,
        }

        public async ValueTask<SaslStep> StepAsync(byte[]? response, CancellationToken cancellationToken)
        {
            if (_state == State.Done) return SaslStep.Failure("SCRAM: exchange already finished");
            if (++_steps > MaxSteps) return End(SaslStep.Failure("SCRAM: too many steps"));
            if (_state == State.ClientFirst)
            {
                if (response is null) return SaslStep.Challenge([]);
                SaslStep step = await ClientFirstAsync(response, cancellationToken).ConfigureAwait(false);
                return step.Kind == SaslStepKind.Challenge ? step : End(step);
            }
            return End(response is null ? SaslStep.Malformed("SCRAM: missing client-final-message") : ClientFinal(response));
        }

        private SaslStep End(SaslStep step)
        {
            _state = State.Done;
            return step;
        }

        /// <summary>RFC 5802 §7: <c>client-first-message = gs2-header client-first-message-bare</c>.</summary>
        private async ValueTask<SaslStep> ClientFirstAsync(byte[] response, CancellationToken cancellationToken)
        {
            string prefix = mechanism.Name + ": ";
            if (!SaslUtf8.TryDecode(response, out string? message)) return SaslStep.Malformed(prefix + "client-first-message is not UTF-8");

            // gs2-cbind-flag = ("p=" cb-name) / "n" / "y"
            int comma = message.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0) return SaslStep.Malformed(prefix + "no gs2-header");
            string flag = message[..comma];
            string? cbName = null;
            if (flag.StartsWith("p=", StringComparison.Ordinal))
            {
                cbName = flag[2..];
                if (cbName.Length == 0 || !cbName.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-'))
                    return SaslStep.Malformed(prefix + "invalid cb-name");
            }
            else if (flag is not ("n" or "y"))
            {
                return SaslStep.Malformed(prefix + "invalid gs2-cbind-flag");
            }

            // gs2-header = gs2-cbind-flag "," [ authzid ] ","
            int second = message.IndexOf(',', comma + 1);
            if (second < 0) return SaslStep.Malformed(prefix + "gs2-header is not terminated");
            string authzidField = message[(comma + 1)..second];
            if (authzidField.Length > 0)
            {
                if (!authzidField.StartsWith("a=", StringComparison.Ordinal)) return SaslStep.Malformed(prefix + "invalid authzid");
                if (!TryDecodeSaslName(authzidField[2..], out string? authzid))
                    return SaslStep.Failure(prefix + "authzid has an invalid '=' escape");
                _authzid = authzid;
            }
            _gs2Header = message[..(second + 1)];
            string bare = message[(second + 1)..];

            // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
            // RFC 5802 §5.1: "m: This attribute is reserved for future extensibility. [...] If this attribute is
            // present, the server MUST fail authentication (as no extensions are defined yet)."
            if (bare.StartsWith("m=", StringComparison.Ordinal)) return SaslStep.Failure(prefix + "mandatory extension (m=) not supported");
            string[] attributes = bare.Split(',');
            if (attributes.Length < 2 || !attributes[0].StartsWith("n=", StringComparison.Ordinal)
                || !attributes[1].StartsWith("r=", StringComparison.Ordinal))
            {
                return SaslStep.Malformed(prefix + "client-first-message-bare needs n= and r=");
            }
            // RFC 5802 §5.1: "If the server receives a username that contains '=' not followed by either '2C' or '3D',
            // then the server MUST fail the authentication."
            if (!TryDecodeSaslName(attributes[0][2..], out string? username)) return SaslStep.Failure(prefix + "username has an invalid '=' escape");
            if (username.Length == 0) return SaslStep.Malformed(prefix + "empty username");
            string clientNonce = attributes[1][2..];
            if (!IsPrintable(clientNonce)) return SaslStep.Malformed(prefix + "invalid client nonce");

            // Channel binding (RFC 5802 §6).
            if (mechanism.ChannelBinding)
            {
                if (cbName is null) return SaslStep.Failure(prefix + $"the client did not request channel binding (flag '{flag}')");
                if (!ChannelBindingTypes.All.Contains(cbName)
                    || !context.ChannelBindings.TryGetValue(cbName, out byte[]? data) || data is not { Length: > 0 })
                {
                    return SaslStep.Failure(prefix + $"channel-binding type '{cbName}' not supported on this connection");
                }
                _channelBindingData = data;
            }
            else if (cbName is not null)
            {
                return SaslStep.Failure(prefix + "channel binding requested with the mechanism without -PLUS");
            }
            else if (flag == "y" && mechanism.PlusOffered && ChannelBindingTypes.AnyAvailable(context))
            {
                return SaslStep.Failure(prefix + "client believes the server lacks channel binding (flag 'y'), but "
                    + PlusMechanismName + " is offered: possible downgrade attack");
            }

            _username = username;
            _clientFirstBare = bare;
            _user = await mechanism._users.FindAsync(username, cancellationToken).ConfigureAwait(false);
            _credentials = _user?.Scram ?? mechanism.FakeCredentials(username);
            string serverNonce = mechanism._serverNonce();
            if (serverNonce.Length == 0 || !IsPrintable(serverNonce)) throw new InvalidOperationException("The server nonce must be printable ASCII without ','.");
            _nonce = clientNonce + serverNonce;
            // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
            _serverFirst = string.Create(CultureInfo.InvariantCulture,
                $"r={_nonce},s={Convert.ToBase64String(_credentials.Salt.AsSpan())},i={_credentials.Iterations}");
            _state = State.ClientFinal;
            return SaslStep.Challenge(Encoding.UTF8.GetBytes(_serverFirst));
        }

        /// <summary>RFC 5802 §7: <c>client-final-message = client-final-message-without-proof "," proof</c>.</summary>
        private SaslStep ClientFinal(byte[] response)
        {
            string prefix = mechanism.Name + ": ";
            if (!SaslUtf8.TryDecode(response, out string? message)) return SaslStep.Malformed(prefix + "client-final-message is not UTF-8");
            int proofAt = message.LastIndexOf(",p=", StringComparison.Ordinal);
            if (proofAt < 0) return SaslStep.Malformed(prefix + "client-final-message has no proof");
            string withoutProof = message[..proofAt];
            string[] attributes = withoutProof.Split(',');
            // client-final-message-without-proof = channel-binding "," nonce ["," extensions]
            if (attributes.Length < 2 || !attributes[0].StartsWith("c=", StringComparison.Ordinal)
                || !attributes[1].StartsWith("r=", StringComparison.Ordinal))
            {
                return SaslStep.Malformed(prefix + "client-final-message needs c= and r=");
            }
            byte[]? cbindInput = FromBase64(attributes[0][2..]);
            byte[]? proof = FromBase64(message[(proofAt + 3)..]);
            if (cbindInput is null || proof is null) return SaslStep.Malformed(prefix + "invalid base64 in c= or p=");
            if (proof.Length != SHA256.HashSizeInBytes) return SaslStep.Malformed(prefix + "proof is not 32 bytes");

            // RFC 5802 §7: cbind-input = gs2-header [ cbind-data ]; "cbind-data MUST be present for gs2-cbind-flag of
            // "p" and MUST be absent for "y" or "n"."
            byte[] header = Encoding.UTF8.GetBytes(_gs2Header);
            byte[] expected = new byte[header.Length + _channelBindingData.Length];
            header.CopyTo(expected, 0);
            _channelBindingData.CopyTo(expected, header.Length);
            if (!CryptographicOperations.FixedTimeEquals(cbindInput, expected))
                return SaslStep.Failure(prefix + "channel-binding data (c=) does not match this connection");
            if (!string.Equals(attributes[1][2..], _nonce, StringComparison.Ordinal))
                return SaslStep.Failure(prefix + "nonce (r=) does not match");

            // AuthMessage := client-first-message-bare + "," + server-first-message + "," + client-final-message-without-proof
            byte[] authMessage = Encoding.UTF8.GetBytes(_clientFirstBare + "," + _serverFirst + "," + withoutProof);
            ScramCredentials credentials = _credentials!;
            Span<byte> signature = stackalloc byte[SHA256.HashSizeInBytes];
            Span<byte> storedKey = stackalloc byte[SHA256.HashSizeInBytes];
            // ClientSignature := HMAC(StoredKey, AuthMessage); ClientKey := ClientProof XOR ClientSignature
            HMACSHA256.HashData(credentials.StoredKey.AsSpan(), authMessage, signature);
            for (int i = 0; i < signature.Length; i++) signature[i] ^= proof[i];
            SHA256.HashData(signature, storedKey);
            bool proofOk = CryptographicOperations.FixedTimeEquals(storedKey, credentials.StoredKey.AsSpan());
            CryptographicOperations.ZeroMemory(signature);

            if (_user is null) return SaslStep.Failure(prefix + $"unknown user '{_username}'");
            if (!proofOk) return SaslStep.Failure(prefix + $"wrong password for '{_user.Name}' (invalid proof)");
            if (_authzid.Length > 0 && !string.Equals(_authzid, _user.Name, StringComparison.OrdinalIgnoreCase))
                return SaslStep.Failure(prefix + $"authorization identity not permitted ('{_user.Name}' asked to act as '{_authzid}')");

            // server-final-message = verifier; verifier = "v=" base64(ServerSignature)
            byte[] serverSignature = HMACSHA256.HashData(credentials.ServerKey.AsSpan(), authMessage);
            return SaslStep.Success(_user.Name, Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(serverSignature)));
        }

        /// <summary>RFC 5802 §7: <c>saslname = 1*(value-safe-char / "=2C" / "=3D")</c>.</summary>
        private static bool TryDecodeSaslName(string value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? name)
        {
            name = null;
            if (!value.Contains('=', StringComparison.Ordinal))
            {
                name = value;
                return true;
            }
            var builder = new StringBuilder(value.Length);
            for (int i = 0; i < value.Length; i++)
            {
                if (value[i] != '=')
                {
                    builder.Append(value[i]);
                    continue;
                }
                if (i + 2 >= value.Length) return false;
                string escape = value.Substring(i + 1, 2);
                if (escape == "2C") builder.Append(',');
                else if (escape == "3D") builder.Append('=');
                else return false;
                i += 2;
            }
            name = builder.ToString();
            return true;
        }

        /// <summary>RFC 5802 §7: <c>printable = %x21-2B / %x2D-7E</c> (printable ASCII except ",").</summary>
        private static bool IsPrintable(string value)
        {
            if (value.Length == 0) return false;
            foreach (char c in value)
            {
                if (c is < (char)0x21 or > (char)0x7E or ',') return false;
            }
            return true;
        }

        private static byte[]? FromBase64(string value)
        {
            try
            {
                return Convert.FromBase64String(value);
            }
            catch (FormatException)
            {
                return null;
            }
        }
    }
}
