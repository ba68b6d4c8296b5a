using System.Buffers;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Protocol.Smtp;
using Postbote.Security.Sasl;

namespace Postbote.Smtp;

/// <summary>
/// AUTH (RFC 4954) for one SMTP session: which mechanisms the connection may use now, the SASL exchange of challenges
/// and responses, and the limiter of failed attempts. Every method answers with exactly one reply, which the session
/// writes; while <see cref="InExchange"/> the session passes each line to <see cref="ResponseAsync"/>.
/// </summary>
internal sealed class SmtpAuthExchange
{
    /// <summary>The longest SASL line, 12,288 octets without CRLF (RFC 4954 §4).</summary>
    public const int MaxSaslLine = 12288;

    private readonly SmtpSession _session;
    private readonly SmtpAuthentication? _auth;
    private readonly ILogger _log;
    private ISaslExchange? _sasl;
    private bool _saslFinal;
    private string? _saslUser;
    private bool _authAttempt;

    /// <summary>Creates the AUTH state of a session.</summary>
    /// <param name="session">The session: its connection, listener and identity.</param>
    /// <param name="authentication">The mechanisms and limiter, or <c>null</c> when AUTH is not enabled.</param>
    /// <param name="log">The session's log.</param>
    public SmtpAuthExchange(SmtpSession session, SmtpAuthentication? authentication, ILogger log)
    {
        _session = session;
        _auth = authentication;
        _log = log;
    }

    /// <summary>Whether a SASL exchange is going on: the next line is a response, not a command.</summary>
    public bool InExchange => _sasl is not null;

    /// <summary>Whether the client has authenticated (or is about to, waiting for its answer to the final message);
    /// EHLO then offers no AUTH.</summary>
    public bool HasUser => _saslUser is not null;

    /// <summary>The mechanisms this session may use now: none before TLS unless the listener allows plaintext AUTH
    /// (RFC 4954 §4: PLAIN and LOGIN need a protected channel) and does not demand TLS first, -PLUS ones only with
    /// channel-binding data. EHLO offers exactly these, so an offered mechanism is never answered with 530 or 538.</summary>
    /// <returns>The mechanisms, strongest first.</returns>
    public IEnumerable<ISaslMechanism> AvailableMechanisms()
    {
        if (_auth is null) yield break;
        if (!_session.Connection.IsTls && (!_session.Listener.AllowPlaintextAuth || _session.TlsRequired)) yield break;
        SaslContext context = ContextNow();
        foreach (ISaslMechanism m in _auth.Mechanisms)
            if (m.IsAvailable(context)) yield return m;
    }

    private SaslContext ContextNow()
    {
        var bindings = new Dictionary<string, byte[]>();
        var connection = _session.Connection;
        // On TLS 1.3 clients default to tls-exporter (RFC 9266 §3), which .NET cannot export: no binding is served there,
        // so -PLUS is not offered and a client's "y" flag is no downgrade, unless the admin asks for -PLUS with
        // tls-server-end-point alone ([auth] scram_plus_tls13).
        bool bind = connection.Tls is { } tls && (tls.SslProtocol != SslProtocols.Tls13 || _auth?.ScramPlusOnTls13 == true);
        if (bind && connection.TlsServerEndPoint is { } endPoint)
        {
            // RFC 5929 §4: the hash of the certificate this connection's handshake used (not a newer one after a reload).
            bindings[ChannelBindingTypes.TlsServerEndPoint] = endPoint;
            if (connection.TlsUnique() is { } unique) bindings[ChannelBindingTypes.TlsUnique] = unique;
        }
        return new SaslContext(_session.Info.Remote.Address, connection.IsTls, bindings);
    }

    /// <summary>The AUTH command: <c>AUTH mechanism [initial-response]</c>.</summary>
    /// <param name="args">The arguments after the verb.</param>
    /// <param name="esmtp">Whether the client greeted with EHLO (AUTH is an ESMTP extension).</param>
    /// <param name="inTransaction">Whether a mail transaction is open (RFC 4954 §4: AUTH is not permitted then).</param>
    /// <returns>The reply: a challenge, the outcome, or the reason AUTH cannot start.</returns>
    public ValueTask<SmtpReply> BeginAsync(ReadOnlySpan<byte> args, bool esmtp, bool inTransaction)
    {
        if (_auth is not { } auth || !esmtp) return new(SmtpReplies.AuthNotEnabled);
        if (_saslUser is not null) return new(SmtpReplies.AlreadyAuthenticated);
        if (inTransaction) return new(SmtpReplies.AuthInTransaction);
        int sp = args.IndexOf((byte)' ');
        string name = Encoding.ASCII.GetString(sp < 0 ? args : args[..sp]);
        ReadOnlySpan<byte> initial = sp < 0 ? default : SmtpCommandParser.TrimSpaces(args[(sp + 1)..]);
        if (name.Length == 0) return new(SmtpReplies.Syntax("Syntax: AUTH mechanism [initial-response]"));
        ISaslMechanism? mechanism = auth.Mechanisms.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));
        if (mechanism is null) return new(SmtpReplies.UnrecognizedMechanism);
        // RFC 4954 §6: 538 5.7.11 Encryption required for requested authentication mechanism.
        if (!_session.Connection.IsTls && !_session.Listener.AllowPlaintextAuth) return new(SmtpReplies.EncryptionRequired);
        SaslContext context = ContextNow();
        if (!mechanism.IsAvailable(context)) return new(SmtpReplies.MechanismNotAvailable);
        byte[]? response = null;
        if (!initial.IsEmpty && !TryDecodeBase64(initial, out response)) return new(SmtpReplies.InvalidBase64);
        // The attempt is counted before the credentials are checked (and settled after), so that parallel connections
        // from one address cannot have more guesses checked than max_failures.
        if (!auth.Limiter.TryBeginAttempt(_session.Info.Remote.Address))
        {
            _log.LogWarning("AUTH refused: {Client} has too many failed or pending attempts", _session.Info.Remote.Address);
            return new(SmtpReplies.TooManyAuthFailures);
        }
        _authAttempt = true;
        _sasl = mechanism.Start(context);
        _saslFinal = false;
        return StepAsync(response);
    }

    /// <summary>A client's line during the exchange (RFC 4954 §4): base64 data, <c>*</c> to cancel, or the empty answer
    /// to the server's final message.</summary>
    /// <param name="line">The line without CRLF.</param>
    /// <returns>The next challenge or the outcome.</returns>
    public ValueTask<SmtpReply> ResponseAsync(ReadOnlyMemory<byte> line)
    {
        ReadOnlySpan<byte> text = line.Span;
        if (text.Length > MaxSaslLine)
        {
            End();
            return new(SmtpReplies.SaslLineTooLong);
        }
        if (text.Length == 1 && text[0] == '*')
        {
            // RFC 4954 §4: "If the client wishes to cancel the authentication exchange, it issues a line with a single "*"".
            End();
            return new(SmtpReplies.AuthCancelled);
        }
        if (_saslFinal)
        {
            string user = _saslUser!;
            _saslUser = null;
            End();
            if (!text.IsEmpty) return new(SmtpReplies.UnexpectedAuthData);
            return new(Authenticated(user));
        }
        if (!TryDecodeBase64(text, out byte[] response))
        {
            End();
            return new(SmtpReplies.InvalidBase64);
        }
        return StepAsync(response);
    }

    private async ValueTask<SmtpReply> StepAsync(byte[]? response)
    {
        SaslStep step = await _sasl!.StepAsync(response, CancellationToken.None).ConfigureAwait(false);
        switch (step.Kind)
        {
            case SaslStepKind.Challenge:
                return SmtpReplies.Challenge(step.Data);
            case SaslStepKind.Success when step.Data is { Length: > 0 } final:
                Settle(failed: false);
                _saslFinal = true;
                _saslUser = step.User;
                return SmtpReplies.Challenge(final);
            case SaslStepKind.Success:
                End();
                return Authenticated(step.User!);
            case SaslStepKind.Malformed:
                End(); // nothing was checked: the reservation is released
                _log.LogInformation("AUTH malformed: {Reason}", step.Reason);
                return SmtpReplies.MalformedAuthData;
            default:
                Settle(failed: true);
                End();
                _log.LogWarning("AUTH failed from {Client}: {Reason}", _session.Info.Remote.Address, step.Reason);
                return SmtpReplies.AuthenticationFailed;
        }
    }

    private SmtpReply Authenticated(string user)
    {
        Settle(failed: false);
        _auth!.Limiter.RecordSuccess(_session.Info.Remote.Address);
        _saslUser = user;
        _session.Info = _session.Info with { AuthenticatedUser = user };
        _log.LogInformation("authenticated as {User}", user);
        return SmtpReplies.AuthenticationSucceeded;
    }

    /// <summary>Settles the attempt reserved when AUTH began, once: a failure is counted, anything else releases it.</summary>
    /// <param name="failed">Whether the credentials were wrong.</param>
    public void Settle(bool failed)
    {
        if (!_authAttempt) return;
        _authAttempt = false;
        _auth!.Limiter.EndAttempt(_session.Info.Remote.Address, failed);
    }

    /// <summary>Ends the exchange (cancelled, finished, or its line too long), releasing an unsettled attempt.</summary>
    public void End()
    {
        Settle(failed: false);
        _sasl = null;
        _saslFinal = false;
        if (_session.Info.AuthenticatedUser is null) _saslUser = null;
    }

    private static bool TryDecodeBase64(ReadOnlySpan<byte> text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length == 1 && text[0] == '=') return true; // RFC 4954 §4: "=" is an empty initial response
        byte[] buffer = new byte[System.Buffers.Text.Base64.GetMaxDecodedFromUtf8Length(text.Length)];
        if (System.Buffers.Text.Base64.DecodeFromUtf8(text, buffer, out int used, out int written) != OperationStatus.Done || used != text.Length)
            return false;
        bytes = buffer.AsSpan(0, written).ToArray();
        return true;
    }
}
