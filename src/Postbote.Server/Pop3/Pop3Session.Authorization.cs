using System.Buffers;
using System.Net;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Logging;
using Postbote.MailStore;
using Postbote.Protocol.Pop3;
using Postbote.Security.Sasl;

namespace Postbote.Pop3;

/// <summary>The AUTHORIZATION state (RFC 1939 §4, §7): CAPA, STLS, USER/PASS, AUTH, and opening the maildrop.</summary>
internal sealed partial class Pop3Session
{
    private bool _stlsPending;
    private string? _userName;
    private ISaslExchange? _sasl;
    private bool _saslFinal;
    private string? _saslUser;
    private bool _attempt;
    private IMaildrop? _maildrop;

    private IPAddress ClientAddress =>
        Connection.Remote.Address.IsIPv4MappedToIPv6 ? Connection.Remote.Address.MapToIPv4() : Connection.Remote.Address;

    /// <summary>Whether credentials may travel on this connection in clear: under TLS, or with <c>plaintext_auth</c>.</summary>
    private bool PlaintextAllowed => Connection.IsTls || _server.Options.AllowPlaintextAuth;

    private ValueTask AuthorizationAsync(Pop3Verb verb, ReadOnlyMemory<byte> args)
    {
        switch (verb)
        {
            case Pop3Verb.Capa:
                Capabilities();
                return default;
            case Pop3Verb.Stls:
                Stls(args.Span);
                return default;
            case Pop3Verb.User:
                User(args.Span);
                return default;
            case Pop3Verb.Pass:
                return PassAsync(args);
            case Pop3Verb.Auth:
                return AuthAsync(args);
            case Pop3Verb.Apop:
                Reply(Pop3Reply.Err("APOP is not supported"));
                return default;
            case Pop3Verb.Quit:
                Reply(Pop3Reply.Ok("Bye"));
                _closing = true;
                return default;
            case Pop3Verb.Noop:
            default:
                WrongState();
                return default;
        }
    }

    /// <summary>CAPA (RFC 2449 §5): exactly what may be used on this connection now.</summary>
    private void Capabilities()
    {
        Reply(Pop3Reply.Ok("Capability list follows"));
        Line("TOP");
        Line("UIDL");
        Line("RESP-CODES");
        Line("AUTH-RESP-CODE");
        Line("PIPELINING");
        if (_state == State.Authorization)
        {
            if (PlaintextAllowed) Line("USER");
            string mechanisms = string.Join(' ', AvailableMechanisms().Select(m => m.Name));
            if (mechanisms.Length > 0) Line("SASL " + mechanisms);
            if (StlsOffered) Line("STLS");
        }
        Line("IMPLEMENTATION Postbote");
        EndMultiLine();
    }

    private bool StlsOffered => _server.Tls is not null && !Connection.IsTls && !_listener.ImplicitTls;

    /// <summary>The SASL mechanisms usable now: without TLS none that sends the password in clear unless
    /// <c>plaintext_auth</c>; -PLUS only with channel-binding data.</summary>
    private IEnumerable<ISaslMechanism> AvailableMechanisms()
    {
        SaslContext context = ContextNow();
        foreach (ISaslMechanism m in _server.Authentication.Mechanisms)
            if (m.IsAvailable(context) && (!m.IsPlaintext || PlaintextAllowed)) yield return m;
    }

    private SaslContext ContextNow()
    {
        var bindings = new Dictionary<string, byte[]>();
        // As for SMTP: on TLS 1.3 no binding is served unless [auth] scram_plus_tls13 (.NET cannot export tls-exporter).
        bool bind = Connection.Tls is { } tls && (tls.SslProtocol != SslProtocols.Tls13 || _server.Authentication.ScramPlusOnTls13);
        if (bind && Connection.TlsServerEndPoint is { } endPoint)
        {
            bindings[ChannelBindingTypes.TlsServerEndPoint] = endPoint;
            if (Connection.TlsUnique() is { } unique) bindings[ChannelBindingTypes.TlsUnique] = unique;
        }
        return new SaslContext(ClientAddress, Connection.IsTls, bindings);
    }

    /// <summary>STLS (RFC 2595 §4): "+OK", then the TLS handshake; what was learnt before is forgotten.</summary>
    private void Stls(ReadOnlySpan<byte> args)
    {
        if (!args.IsEmpty) { Reply(Pop3Reply.Err("Syntax: STLS")); return; }
        if (Connection.IsTls) { Reply(Pop3Reply.Err("Command not permitted when TLS active")); return; }
        if (_server.Tls is null) { Reply(Pop3Reply.Err("STLS is not available")); return; }
        Reply(Pop3Reply.Ok("Begin TLS negotiation"));
        _userName = null;
        _stlsPending = true;
    }

    private async ValueTask<bool> HandshakeAsync()
    {
        if (await Connection.StartTlsAsync(_server.Tls!).ConfigureAwait(false)) return true;
        _closing = true;
        return false;
    }

    /// <summary>USER name (RFC 1939 §7). Answered <c>+OK</c> whether the user exists or not, so that the reply tells
    /// nothing; the check comes with PASS.</summary>
    private void User(ReadOnlySpan<byte> args)
    {
        if (!PlaintextAllowed)
        {
            // RFC 2595 §4: the server may refuse USER/PASS before TLS; CAPA does not offer USER then.
            Reply(Pop3Reply.Err("Plaintext authentication disallowed on non-secure (SSL/TLS) connections", Pop3ResponseCode.Auth));
            return;
        }
        if (args.IsEmpty || args.Contains((byte)' ')) { Reply(Pop3Reply.Err("Syntax: USER name")); return; }
        if (!SaslUtf8.TryDecode(args, out string? name)) { Reply(Pop3Reply.Err("User name is not UTF-8")); return; }
        _userName = name;
        Reply(Pop3Reply.Ok());
    }

    /// <summary>PASS string (RFC 1939 §7), checked through PLAIN's password check (Argon2id, one per core at a time).</summary>
    private async ValueTask PassAsync(ReadOnlyMemory<byte> args)
    {
        if (_userName is not { } user) { Reply(Pop3Reply.Err("USER first")); return; }
        _userName = null;
        if (args.IsEmpty) { Reply(Pop3Reply.Err("Syntax: PASS password")); return; }
        ISaslMechanism? plain = _server.Authentication.Mechanisms.FirstOrDefault(m => m.Name == PlainMechanism.MechanismName);
        if (plain is null) { Reply(Pop3Reply.Err("Password login is not available", Pop3ResponseCode.SysPerm)); return; }
        if (!BeginAttempt()) return;
        byte[] name = Encoding.UTF8.GetBytes(user);
        byte[] message = new byte[2 + name.Length + args.Length];
        name.CopyTo(message, 1);
        args.Span.CopyTo(message.AsSpan(2 + name.Length));
        try
        {
            SaslStep step = await plain.Start(ContextNow()).StepAsync(message, CancellationToken.None).ConfigureAwait(false);
            if (step.Kind == SaslStepKind.Success) await LoggedInAsync(step.User!).ConfigureAwait(false);
            else Failed(step);
        }
        finally
        {
            Array.Clear(message);
        }
    }

    /// <summary>AUTH mechanism [initial-response] (RFC 5034 §4).</summary>
    private ValueTask AuthAsync(ReadOnlyMemory<byte> args)
    {
        ReadOnlySpan<byte> a = args.Span;
        if (a.IsEmpty)
        {
            // RFC 5034 §4 leaves AUTH without a mechanism open; Dovecot and Cyrus list the mechanisms, as RFC 1734 did.
            Reply(Pop3Reply.Ok());
            foreach (ISaslMechanism m in AvailableMechanisms()) Line(m.Name);
            EndMultiLine();
            return default;
        }
        if (a.Length > Pop3CommandParser.MaxSaslLine) { Reply(Pop3Reply.Err("Line too long")); return default; }
        int sp = a.IndexOf((byte)' ');
        string name = Encoding.ASCII.GetString(sp < 0 ? a : a[..sp]);
        ReadOnlySpan<byte> initial = sp < 0 ? default : a[(sp + 1)..];
        ISaslMechanism? mechanism = _server.Authentication.Mechanisms.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));
        if (mechanism is null) { Reply(Pop3Reply.Err("Unsupported authentication mechanism")); return default; }
        if (!AvailableMechanisms().Contains(mechanism))
        {
            Reply(Pop3Reply.Err(mechanism.IsPlaintext && !PlaintextAllowed
                ? "Plaintext authentication disallowed on non-secure (SSL/TLS) connections"
                : "Mechanism not available on this connection", Pop3ResponseCode.Auth));
            return default;
        }
        byte[]? response = null;
        if (!initial.IsEmpty && !TryDecodeBase64(initial, out response)) { Reply(Pop3Reply.Err("Invalid base64 data")); return default; }
        if (!BeginAttempt()) return default;
        _sasl = mechanism.Start(ContextNow());
        _saslFinal = false;
        _mode = Mode.Sasl;
        return SaslStepAsync(response);
    }

    /// <summary>A client line during the exchange (RFC 5034 §4): base64, <c>*</c> to cancel, or the empty answer to the
    /// final challenge.</summary>
    private ValueTask SaslResponseAsync(ReadOnlyMemory<byte> memory)
    {
        ReadOnlySpan<byte> text = memory.Span;
        if (_log.IsEnabled(LogLevel.Trace)) _log.LogTrace("C: ({Octets} octets of SASL response, not logged)", text.Length);
        if (text.Length > Pop3CommandParser.MaxSaslLine)
        {
            EndSasl();
            Reply(Pop3Reply.Err("Line too long"));
            return default;
        }
        if (text.Length == 1 && text[0] == '*')
        {
            // RFC 5034 §4: "If the client wishes to cancel the authentication exchange, it issues a line with a single
            // "*". If the server receives such a response, it MUST reject the AUTH command by sending an -ERR reply."
            EndSasl();
            Reply(Pop3Reply.Err("Authentication cancelled"));
            return default;
        }
        if (_saslFinal)
        {
            string user = _saslUser!;
            EndSasl();
            if (!text.IsEmpty) { Reply(Pop3Reply.Err("Unexpected data after the final challenge")); return default; }
            return LoggedInAsync(user);
        }
        if (!TryDecodeBase64(text, out byte[] response))
        {
            EndSasl();
            Reply(Pop3Reply.Err("Invalid base64 data"));
            return default;
        }
        return SaslStepAsync(response);
    }

    private async ValueTask SaslStepAsync(byte[]? response)
    {
        SaslStep step = await _sasl!.StepAsync(response, CancellationToken.None).ConfigureAwait(false);
        switch (step.Kind)
        {
            case SaslStepKind.Challenge:
                Line("+ " + Convert.ToBase64String(step.Data ?? []));
                return;
            case SaslStepKind.Success when step.Data is { Length: > 0 } final:
                // RFC 5034 §4 has no room for data in +OK: the server's final message goes as a last challenge, which the
                // client answers with an empty line (as SMTP AUTH does it, RFC 4954 §4).
                SettleAttempt(failed: false);
                _saslFinal = true;
                _saslUser = step.User;
                Line("+ " + Convert.ToBase64String(final));
                return;
            case SaslStepKind.Success:
                EndSasl();
                await LoggedInAsync(step.User!).ConfigureAwait(false);
                return;
            default:
                EndSasl(step.Kind == SaslStepKind.Failure);
                Failed(step);
                return;
        }
    }

    /// <summary>Reserves one of the address's login attempts with the limiter shared with SMTP AUTH; a blocked address
    /// gets <c>-ERR [SYS/TEMP]</c> without a check (RFC 3206 §4: "temporary system problem").</summary>
    private bool BeginAttempt()
    {
        if (_server.Authentication.Limiter.TryBeginAttempt(ClientAddress))
        {
            _attempt = true;
            return true;
        }
        _log.LogWarning("POP3 login refused: {Client} has too many failed or pending attempts", ClientAddress);
        Reply(Pop3Reply.Err("Too many failed logins from your address, try again later", Pop3ResponseCode.SysTemp));
        return false;
    }

    private void SettleAttempt(bool failed)
    {
        if (!_attempt) return;
        _attempt = false;
        _server.Authentication.Limiter.EndAttempt(ClientAddress, failed);
    }

    /// <summary>Ends the SASL exchange; an attempt still reserved is settled (a failure only when the credentials were
    /// checked and wrong).</summary>
    private void EndSasl(bool failed = false)
    {
        SettleAttempt(failed);
        _sasl = null;
        _saslFinal = false;
        _saslUser = null;
        if (_mode == Mode.Sasl) _mode = Mode.Command;
    }

    private void Failed(SaslStep step)
    {
        if (step.Kind == SaslStepKind.Malformed)
        {
            SettleAttempt(failed: false);
            _log.LogInformation("POP3 login malformed: {Reason}", step.Reason);
            Reply(Pop3Reply.Err("Malformed authentication data"));
            return;
        }
        SettleAttempt(failed: true);
        _log.LogWarning("POP3 login failed from {Client}: {Reason}", ClientAddress, step.Reason);
        Reply(Pop3Reply.Err("Authentication failed", Pop3ResponseCode.Auth));
    }

    /// <summary>The credentials were right: lock the maildrop and enter the TRANSACTION state (RFC 1939 §4).</summary>
    private ValueTask LoggedInAsync(string user)
    {
        SettleAttempt(failed: false);
        _server.Authentication.Limiter.RecordSuccess(ClientAddress);
        try
        {
            _maildrop = _server.Maildrops.Open(user);
        }
        catch (MaildropLockedException)
        {
            _log.LogInformation("POP3 login of {User}: maildrop in use", user);
            // RFC 2449 §8.1.2: IN-USE "indicates the authentication was successful, but the user's maildrop is currently
            // locked by another POP3 session". The session stays in the AUTHORIZATION state.
            Reply(Pop3Reply.Err("Mailbox is locked by another POP3 session", Pop3ResponseCode.InUse));
            return default;
        }
        catch (ArgumentException)
        {
            Reply(Pop3Reply.Err("No mailbox for this user", Pop3ResponseCode.SysPerm));
            return default;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogError("POP3 login of {User}: cannot open the maildrop: {Error}", user, e.Message);
            Reply(Pop3Reply.Err("Cannot open the mailbox", Pop3ResponseCode.SysTemp));
            return default;
        }
        _state = State.Transaction;
        _server.SmtpAfterPop?.RecordLogin(ClientAddress);
        IReadOnlyList<MaildropMessage> messages = _maildrop.Messages;
        _log.LogInformation("POP3 login of {User}: {Count} messages", user, messages.Count);
        Reply(Pop3Reply.Ok(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"Logged in, {messages.Count} messages ({messages.Sum(m => m.Size)} octets)")));
        return default;
    }

    private static bool TryDecodeBase64(ReadOnlySpan<byte> text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length == 1 && text[0] == '=') return true; // RFC 5034 §4: "=" is an empty initial response
        byte[] buffer = new byte[System.Buffers.Text.Base64.GetMaxDecodedFromUtf8Length(text.Length)];
        if (System.Buffers.Text.Base64.DecodeFromUtf8(text, buffer, out int used, out int written) != OperationStatus.Done || used != text.Length)
            return false;
        bytes = buffer.AsSpan(0, written).ToArray();
        return true;
    }
}
