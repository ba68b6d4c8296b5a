using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Net;
using Postbote.Protocol.Smtp;
using Postbote.Queue;
using Postbote.Security;
using Postbote.Security.Sasl;

namespace Postbote.Smtp;

/// <summary>
/// One SMTP session (RFC 5321 §3, §4): reads commands from the connection, answers each with one reply, receives
/// messages with DATA (§4.1.1.4) or BDAT (RFC 3030) and commits them to the spool before answering 250. Replies to a
/// pipelined group (RFC 2920) are written in order and flushed together when the client's input is used up.
/// Memory is bounded: a command line is at most <see cref="MaxPhysicalLine"/> octets in the buffer (a longer one is
/// drained and refused with 500 5.5.2), and message data goes to the spool as it arrives.
/// </summary>
internal sealed class SmtpSession : ITimeoutTarget
{
    /// <summary>The most octets of one command line the session buffers; longer lines are drained (AUTH's 12,288 of
    /// RFC 4954 §4 will need more).</summary>
    internal const int MaxPhysicalLine = 12288 + 2;

    /// <summary>The longest SASL line, 12,288 octets without CRLF (RFC 4954 §4).</summary>
    private const int MaxSaslLine = 12288;

    private enum Mode : byte { Command, DiscardLine, Data, Bdat, Auth }

    private readonly SmtpServer _server;
    private readonly SmtpServerOptions _options;
    private readonly SmtpServerLimits _limits;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly ListenerOptions _listener;
    private SessionInfo _info;
    private Stream _stream;
    private PipeReader _reader = null!;
    private PipeWriter _writer = null!;
    private volatile bool _pipesReady;
    private SslStream? _tls;
    private byte[]? _endPointBinding;
    private bool _startTlsPending;
    private ISaslExchange? _sasl;
    private bool _saslFinal;
    private bool _discardingSasl;
    private string? _saslUser;

    private Mode _mode;
    private bool _closing;
    private bool _unflushed;
    private int _errors;

    // Timeouts, checked by the heartbeat.
    private long _deadline;
    private long _dataStart;
    private long _dataBytes;
    private long _shutdownDeadline;
    private volatile string? _abortReason;
    private volatile bool _finished;

    // HELO/EHLO state.
    private string? _helo;
    private bool _esmtp;

    // The mail transaction (RFC 5321 §3.3).
    private bool _hasMail;
    private Mailbox? _reversePath;
    private MailParameters _mailParams;
    private readonly List<Recipient> _recipients = new();

    // The message being received.
    private IMessageWriter? _message;
    private QueueId _queueId;
    private DataDecoder _decoder;
    private BdatChecker _bdatChecker;
    private long _bdatRemaining;
    private bool _bdatLast;
    private bool _bdatActive;
    private SmtpReply? _bdatFailure;
    private long _messageBytes;
    private ArrayBufferWriter<byte>? _bodyBuffer;
    private ArrayBufferWriter<byte>? _headerCapture;
    private bool _headerComplete;

    public SmtpSession(SmtpServer server, ListenerOptions listener, Stream stream, SessionInfo info, ILogger log)
    {
        _server = server;
        _listener = listener;
        _options = server.Options;
        _limits = _options.Limits;
        _time = server.Time;
        _info = info;
        _log = log;
        _stream = stream;
    }

    private void UsePipes(Stream stream)
    {
        (_reader, _writer) = CreatePipes(stream);
        _pipesReady = true;
    }

    /// <summary>
    /// After the wait for the client's first byte: the 421 to send when a timeout or shutdown ended the wait (the
    /// heartbeat shuts the socket's receive side to end it), else <c>null</c>, with the pipes made for the session.
    /// </summary>
    private byte[]? ClosedBeforeFirstInput()
    {
        if (_abortReason is not { } reason)
        {
            UsePipes(_stream);
            return null;
        }
        _log.LogInformation("closing session: {Reason}", reason);
        return Encoding.ASCII.GetBytes(ClosingReply(reason).ToString());
    }

    /// <summary>The 421 of RFC 5321 §3.8 for a session the server ends: 4.3.2 when it is stopping, 4.4.2 for a
    /// timeout or a client too slow.</summary>
    private SmtpReply ClosingReply(string reason) => reason == "shutdown"
        ? new SmtpReply(SmtpReplyCode.ServiceNotAvailable, new EnhancedStatusCode(4, 3, 2), _options.HostName + " Service shutting down, closing transmission channel")
        : new SmtpReply(SmtpReplyCode.ServiceNotAvailable, EnhancedStatusCode.BadConnection, "Error: " + reason + ", closing transmission channel");

    private static (PipeReader, PipeWriter) CreatePipes(Stream stream) => (
        PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true)),
        PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 512, leaveOpen: true)));

    /// <summary>The session's identity and client.</summary>
    public SessionInfo Info => _info;

    private SmtpExtensions Extensions => _esmtp ? _options.Extensions : SmtpExtensions.None;

    /// <summary>Serves the connection until QUIT, an error, a timeout, or shutdown.</summary>
    /// <param name="shutdown">Signals that the server is stopping.</param>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async Task RunAsync(CancellationToken shutdown)
    {
        CancellationTokenRegistration shutdownReg = shutdown.Register(static s => ((SmtpSession)s!).OnShutdown(), this);
        _deadline = _time.GetTimestamp() + ToTicks(_limits.IdleTimeout);
        _server.Heartbeat.Add(this);
        try
        {
            PolicyDecision connect = await _server.Policy.CheckConnectAsync(_info, CancellationToken.None).ConfigureAwait(false);
            if (connect.Verdict != PolicyVerdict.Accept)
            {
                _log.LogInformation("connection refused: {Reason}", connect.Reason);
                UsePipes(_stream);
                Reply(connect.Reply ?? new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.NotAuthorized, "Service refused"));
                await FlushAsync().ConfigureAwait(false);
                return;
            }
            if (_listener.ImplicitTls)
            {
                if (!await HandshakeAsync().ConfigureAwait(false)) return;
                Reply(new SmtpReply(SmtpReplyCode.ServiceReady, null, _options.HostName + " ESMTP"));
            }
            else
            {
                // The greeting goes straight to the connection, then a zero-byte read waits for the client's first byte:
                // an idle connection holds no pipe, buffer or read state of its own (and no extra async frame).
                await _stream.WriteAsync(_server.Greeting).ConfigureAwait(false);
                await _stream.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
                if (ClosedBeforeFirstInput() is { } bye)
                {
                    await _stream.WriteAsync(bye).ConfigureAwait(false);
                    return;
                }
            }
            while (!_closing)
            {
                if (_startTlsPending)
                {
                    _startTlsPending = false;
                    if (!await SwitchToTlsAsync().ConfigureAwait(false)) break;
                }
                if (shutdown.IsCancellationRequested && _mode is Mode.Command or Mode.DiscardLine)
                {
                    Reply(ClosingReply("shutdown"));
                    break;
                }
                if (_unflushed && !await FlushAsync().ConfigureAwait(false)) break;
                ReadResult result = await _reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    string reason = _abortReason ?? "cancelled";
                    if (reason == "shutdown" && _mode is Mode.Command or Mode.DiscardLine) continue; // the loop head replies 421
                    _log.LogInformation("closing session: {Reason}", reason);
                    Reply(ClosingReply(reason));
                    break;
                }
                ReadOnlySequence<byte> buffer = result.Buffer;
                _deadline = _time.GetTimestamp() + ToTicks(_limits.IdleTimeout);
                SequencePosition consumed = await ProcessAsync(buffer).ConfigureAwait(false);
                if (result.IsCompleted)
                {
                    if (_mode != Mode.Command || !buffer.Slice(consumed).IsEmpty)
                        _log.LogInformation("client closed the connection in the middle of {Mode}", _mode);
                    _reader.AdvanceTo(consumed, buffer.End);
                    break;
                }
                _reader.AdvanceTo(consumed, buffer.End);
            }
            if (_unflushed) await FlushAsync().ConfigureAwait(false);
            // RFC 8446 §6.1: each party MUST send a close_notify alert before closing its write side.
            if (_tls is not null) await _tls.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or AuthenticationException)
        {
            _log.LogInformation("connection lost: {Error}", e.Message);
        }
        finally
        {
            // Unhook shutdown and heartbeat before the pipes complete: neither may cancel a completed reader.
            await shutdownReg.DisposeAsync().ConfigureAwait(false);
            _server.Heartbeat.Remove(this);
            _finished = true;
            await AbortMessageAsync().ConfigureAwait(false);
            if (_pipesReady)
            {
                await _reader.CompleteAsync().ConfigureAwait(false);
                await _writer.CompleteAsync().ConfigureAwait(false);
            }
            if (_tls is not null) await _tls.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Processes whatever complete input the buffer holds.</summary>
    private async ValueTask<SequencePosition> ProcessAsync(ReadOnlySequence<byte> buffer)
    {
        while (!_closing)
        {
            switch (_mode)
            {
                case Mode.Command:
                {
                    SequencePosition? lf = buffer.PositionOf((byte)'\n');
                    if (lf is null)
                    {
                        if (buffer.Length > MaxPhysicalLine)
                        {
                            // RFC 5321 §4.5.3.1.4 limit: drain to the end of the line in bounded memory, then refuse.
                            _discardingSasl = IsAuthLine(buffer);
                            _mode = Mode.DiscardLine;
                            return buffer.End;
                        }
                        return buffer.Start;
                    }
                    ReadOnlySequence<byte> line = buffer.Slice(0, lf.Value);
                    buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
                    if (line.Length > MaxPhysicalLine)
                    {
                        Reply(IsAuthLine(line) ? SaslLineTooLong : SmtpReply.LineTooLong);
                        continue;
                    }
                    int length = (int)line.Length;
                    byte[] rented = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                    try
                    {
                        line.CopyTo(rented);
                        if (length > 0 && rented[length - 1] == '\r') length--;
                        await ExecuteAsync(rented, length).ConfigureAwait(false);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(rented);
                    }
                    // RFC 3207 §4.2 / CVE-2011-0411: whatever the client sent after STARTTLS in clear is discarded.
                    if (_startTlsPending) return buffer.End;
                    continue;
                }
                case Mode.Auth:
                {
                    SequencePosition? lf = buffer.PositionOf((byte)'\n');
                    if (lf is null)
                    {
                        if (buffer.Length > MaxPhysicalLine) { _discardingSasl = true; _mode = Mode.DiscardLine; return buffer.End; }
                        return buffer.Start;
                    }
                    ReadOnlySequence<byte> line = buffer.Slice(0, lf.Value);
                    buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
                    byte[] text = line.ToArray();
                    int n = text.Length > 0 && text[^1] == '\r' ? text.Length - 1 : text.Length;
                    // A SASL response carries credentials (a password in PLAIN and LOGIN): the transcript shows its size only.
                    if (_log.IsEnabled(LogLevel.Trace)) _log.LogTrace("C: ({Octets} octets of SASL response, not logged)", n);
                    await AuthResponseAsync(text.AsMemory(0, n)).ConfigureAwait(false);
                    continue;
                }
                case Mode.DiscardLine:
                {
                    SequencePosition? lf = buffer.PositionOf((byte)'\n');
                    if (lf is null) return buffer.End;
                    buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
                    _mode = Mode.Command;
                    if (_sasl is not null) EndSasl();
                    // RFC 4954 §4: a SASL line (an AUTH command or a response) over 12,288 octets gets 500 5.5.6.
                    Reply(_discardingSasl ? SaslLineTooLong : SmtpReply.LineTooLong);
                    _discardingSasl = false;
                    continue;
                }
                case Mode.Data:
                {
                    long used = 0;
                    foreach (ReadOnlyMemory<byte> segment in buffer)
                    {
                        used += _decoder.Decode(segment.Span, _bodyBuffer!);
                        if (_decoder.Completed) break;
                    }
                    buffer = buffer.Slice(used);
                    _dataBytes += used;
                    await SpillBodyAsync().ConfigureAwait(false);
                    if (!_decoder.Completed) return buffer.Start;
                    _mode = Mode.Command;
                    await FinishDataAsync().ConfigureAwait(false);
                    continue;
                }
                case Mode.Bdat:
                {
                    long take = Math.Min(_bdatRemaining, buffer.Length);
                    foreach (ReadOnlyMemory<byte> segment in buffer.Slice(0, take))
                        AcceptBdatBytes(segment.Span);
                    buffer = buffer.Slice(take);
                    _bdatRemaining -= take;
                    _dataBytes += take;
                    await SpillBodyAsync().ConfigureAwait(false);
                    if (_bdatRemaining > 0) return buffer.Start;
                    _mode = Mode.Command;
                    await FinishChunkAsync().ConfigureAwait(false);
                    continue;
                }
            }
        }
        return buffer.Start;
    }

    // ---- commands -------------------------------------------------------------------------------------------------

    private ValueTask ExecuteAsync(byte[] buffer, int length)
    {
        ReadOnlySpan<byte> line = buffer.AsSpan(0, length);
        if (line.IndexOfAnyInRange((byte)0, (byte)8) >= 0 || line.IndexOfAnyInRange((byte)10, (byte)31) >= 0 || line.Contains((byte)127))
        {
            _log.LogDebug("C: (line with control characters)");
            Reply(new SmtpReply(SmtpReplyCode.SyntaxError, EnhancedStatusCode.SyntaxError, "Error: invalid characters in command"));
            return default;
        }
        SmtpVerb verb = SmtpCommandParser.ParseVerb(line, out ReadOnlySpan<byte> args);
        if (_log.IsEnabled(LogLevel.Trace)) _log.LogTrace("C: {Line}", verb == SmtpVerb.Auth ? RedactAuth(line) : Escape(line));
        int limit = verb switch
        {
            SmtpVerb.Mail => _limits.CommandLineLength + 26 + 100 + 500,
            SmtpVerb.Rcpt => _limits.CommandLineLength + 500,
            SmtpVerb.Auth => MaxSaslLine + 32,
            _ => _limits.CommandLineLength,
        };
        if (length + 2 > limit)
        {
            Reply(verb == SmtpVerb.Auth
                ? SaslLineTooLong
                : SmtpReply.LineTooLong);
            return default;
        }
        if (TlsRequired && _tls is null && verb is not (SmtpVerb.Ehlo or SmtpVerb.Helo or SmtpVerb.StartTls or SmtpVerb.Noop or SmtpVerb.Rset or SmtpVerb.Quit or SmtpVerb.Unknown))
        {
            Reply(new SmtpReply(SmtpReplyCode.AuthenticationRequired, EnhancedStatusCode.TemporarySecurity with { Class = 5 }, "Must issue a STARTTLS command first"));
            return default;
        }
        switch (verb)
        {
            case SmtpVerb.Ehlo:
            case SmtpVerb.Helo:
                Hello(verb, args);
                return default;
            case SmtpVerb.Mail:
            {
                SmtpReply? error = ParseMail(line, args, out Mailbox? reversePath, out MailParameters mp);
                if (error is null) return MailAsync(reversePath, mp);
                Reply(error);
                return default;
            }
            case SmtpVerb.Rcpt:
            {
                SmtpReply? error = ParseRcpt(line, args, out Mailbox? forwardPath, out RcptParameters rp);
                if (error is null) return RcptAsync(forwardPath!, rp);
                Reply(error);
                return default;
            }
            case SmtpVerb.Data:
                return DataAsync(!args.IsEmpty);
            case SmtpVerb.Bdat:
                return Bdat(args) ? BdatBeginAsync() : default;
            case SmtpVerb.Rset:
                if (!args.IsEmpty) { Reply(Syntax("Syntax: RSET")); return default; }
                ResetTransaction();
                Reply(SmtpReply.Ok);
                return default;
            case SmtpVerb.Noop:
                Reply(SmtpReply.Ok); // RFC 5321 §4.1.1.9: a parameter string is ignored.
                return default;
            case SmtpVerb.Quit:
                Reply(new SmtpReply(SmtpReplyCode.ServiceClosing, EnhancedStatusCode.Success, "Bye"));
                _closing = true;
                return default;
            case SmtpVerb.Vrfy:
                if (args.IsEmpty) Reply(Syntax("Syntax: VRFY address"));
                else if (_options.Vrfy) Reply(new SmtpReply(SmtpReplyCode.CannotVerifyUser, EnhancedStatusCode.Success, "Cannot VRFY user, but will accept message and attempt delivery"));
                else Reply(NotImplemented);
                return default;
            case SmtpVerb.Expn:
                if (args.IsEmpty) Reply(Syntax("Syntax: EXPN list"));
                else if (_options.Expn) Reply(new SmtpReply(SmtpReplyCode.CannotVerifyUser, EnhancedStatusCode.Success, "Cannot EXPN list, but will accept message and attempt delivery"));
                else Reply(NotImplemented);
                return default;
            case SmtpVerb.Help:
                Reply(new SmtpReply(SmtpReplyCode.HelpMessage, EnhancedStatusCode.Success,
                    "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP; see RFC 5321"));
                return default;
            case SmtpVerb.StartTls:
                StartTls(args);
                return default;
            case SmtpVerb.Auth:
                return AuthAsync(args);
            default:
                Reply(SmtpReply.UnknownCommand);
                return default;
        }
    }

    private static readonly SmtpReply SaslLineTooLong = new(SmtpReplyCode.SyntaxError, new EnhancedStatusCode(5, 5, 6), "Error: authentication exchange line is too long");

    private static bool IsAuthLine(ReadOnlySequence<byte> line)
    {
        Span<byte> head = stackalloc byte[5];
        if (line.Length < 5) return false;
        line.Slice(0, 5).CopyTo(head);
        return Ascii.EqualsIgnoreCase(head, "AUTH "u8);
    }

    private static readonly SmtpReply NotImplemented = new(SmtpReplyCode.CommandNotImplemented, EnhancedStatusCode.InvalidCommand, "Error: command not implemented");

    private static SmtpReply Syntax(string text) => new(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.InvalidArguments, text);

    /// <summary>HELO and EHLO (RFC 5321 §4.1.1.1); both reset the transaction (§4.1.4).</summary>
    private void Hello(SmtpVerb verb, ReadOnlySpan<byte> args)
    {
        if (args.IsEmpty || args.Contains((byte)' ') && verb == SmtpVerb.Helo)
        {
            Reply(Syntax(verb == SmtpVerb.Ehlo ? "Syntax: EHLO hostname" : "Syntax: HELO hostname"));
            return;
        }
        int sp = args.IndexOf((byte)' ');
        ReadOnlySpan<byte> name = sp < 0 ? args : args[..sp];
        ResetTransaction();
        _helo = Encoding.UTF8.GetString(name);
        _esmtp = verb == SmtpVerb.Ehlo;
        if (!_esmtp)
        {
            Reply(new SmtpReply(SmtpReplyCode.Ok, null, _options.HostName));
            return;
        }
        Reply(EhloReply());
    }

    /// <summary>Whether this session needs TLS before mail commands: the listener says so, or it is a submission
    /// listener with TLS set up and no plaintext AUTH allowed (RFC 8314 §3).</summary>
    private bool TlsRequired => _server.Tls is not null
        && (_listener.RequireTls || (_listener.RequiresAuth && !_listener.AllowPlaintextAuth));

    private bool StartTlsOffered => _server.Tls is not null && _tls is null && !_listener.ImplicitTls;

    /// <summary>The mechanisms this session may use now: none before TLS unless the listener allows plaintext AUTH
    /// (RFC 4954 §4: PLAIN and LOGIN need a protected channel) and does not demand TLS first, -PLUS ones only with
    /// channel-binding data. EHLO offers exactly these, so an offered mechanism is never answered with 530 or 538.</summary>
    private IEnumerable<ISaslMechanism> AvailableMechanisms()
    {
        if (_server.Authentication is not { } auth) yield break;
        if (_tls is null && (!_listener.AllowPlaintextAuth || TlsRequired)) yield break;
        SaslContext context = SaslContextNow();
        foreach (ISaslMechanism m in auth.Mechanisms)
            if (m.IsAvailable(context)) yield return m;
    }

    private SmtpReply EhloReply()
    {
        SmtpReply basic = _server.EhloReply;
        bool startTls = StartTlsOffered;
        string mechanisms = _saslUser is null ? string.Join(' ', AvailableMechanisms().Select(m => m.Name)) : "";
        if (!startTls && mechanisms.Length == 0) return basic;
        var lines = new List<string>(basic.Lines);
        // STARTTLS goes first, never on the last line: GNU gsasl looks for it only as "250-STARTTLS" and otherwise talks
        // in clear (and then finds no AUTH), as it would with Postfix, whose list does not end with it either.
        if (startTls) lines.Insert(1, "STARTTLS");
        if (mechanisms.Length > 0) lines.Add("AUTH " + mechanisms);
        return basic with { Lines = lines };
    }

    private SaslContext SaslContextNow()
    {
        var bindings = new Dictionary<string, byte[]>();
        // On TLS 1.3 clients default to tls-exporter (RFC 9266 §3), which .NET cannot export: no binding is served there,
        // so -PLUS is not offered and a client's "y" flag is no downgrade, unless the admin asks for -PLUS with
        // tls-server-end-point alone ([auth] scram_plus_tls13).
        bool bind = _tls is not null && (_tls.SslProtocol != SslProtocols.Tls13 || _server.Authentication?.ScramPlusOnTls13 == true);
        if (bind && _server.Tls is { } tls)
        {
            // RFC 5929 §4: the hash of the certificate this connection's handshake used (not a newer one after a reload).
            bindings[ChannelBindingTypes.TlsServerEndPoint] = _endPointBinding ?? tls.EndPointBinding;
            if (TlsChannelBinding.TlsUnique(_tls!) is { } unique) bindings[ChannelBindingTypes.TlsUnique] = unique;
        }
        return new SaslContext(_info.Remote.Address, _tls is not null, bindings);
    }

    // ---- STARTTLS (RFC 3207) ------------------------------------------------------------------------------------

    private void StartTls(ReadOnlySpan<byte> args)
    {
        if (_server.Tls is null || _listener.ImplicitTls) { Reply(NotImplemented); return; }
        if (_tls is not null) { Reply(new SmtpReply(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: TLS already active")); return; }
        if (!args.IsEmpty) { Reply(Syntax("Syntax: STARTTLS")); return; }
        if (_hasMail || _bdatActive) { Reply(new SmtpReply(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: STARTTLS inside a mail transaction")); return; }
        Reply(new SmtpReply(SmtpReplyCode.ServiceReady, EnhancedStatusCode.Success, "Ready to start TLS"));
        _startTlsPending = true;
    }

    /// <summary>Flushes the 220, drops the clear-text pipes and anything buffered in them, runs the handshake, and
    /// forgets everything the client said before (RFC 3207 §4.2: "the server MUST discard any knowledge obtained from
    /// the client, such as the argument to the EHLO command").</summary>
    private async ValueTask<bool> SwitchToTlsAsync()
    {
        if (!await FlushAsync().ConfigureAwait(false)) return false;
        await _reader.CompleteAsync().ConfigureAwait(false);
        await _writer.CompleteAsync().ConfigureAwait(false);
        ResetTransaction();
        _helo = null;
        _esmtp = false;
        return await HandshakeAsync().ConfigureAwait(false);
    }

    private async ValueTask<bool> HandshakeAsync()
    {
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        TimeSpan limit = _limits.IdleTimeout < TimeSpan.FromSeconds(60) ? _limits.IdleTimeout : TimeSpan.FromSeconds(60);
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await tls.AuthenticateAsServerAsync(_server.Tls!.ServerOptionsFor(_listener.LegacyTlsCiphers), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // One line per failed handshake, with the TLS library's own reason (the outer exception only says "see inner").
            _log.LogInformation("TLS handshake with {Client} failed: {Reason}", _info.Remote,
                TlsHandshakeFailure.Reason(e, timeout.IsCancellationRequested, limit));
            await tls.DisposeAsync().ConfigureAwait(false);
            _closing = true;
            return false;
        }
        _tls = tls;
        _stream = tls;
        UsePipes(tls);
        if (tls.LocalCertificate is { } local)
        {
            using var cert = new System.Security.Cryptography.X509Certificates.X509Certificate2(local);
            _endPointBinding = TlsCertificateProvider.ComputeEndPointBinding(cert);
        }
        _info = _info with { IsTls = true };
        _log.LogInformation("TLS established: {Protocol} {Cipher}", tls.SslProtocol, tls.NegotiatedCipherSuite);
        _deadline = _time.GetTimestamp() + ToTicks(_limits.IdleTimeout);
        return true;
    }

    // ---- AUTH (RFC 4954) ----------------------------------------------------------------------------------------

    private ValueTask AuthAsync(ReadOnlySpan<byte> args)
    {
        if (_server.Authentication is not { } auth || !_esmtp)
        {
            Reply(new SmtpReply(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: authentication not enabled"));
            return default;
        }
        if (_saslUser is not null) { Reply(new SmtpReply(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: already authenticated")); return default; }
        if (_hasMail || _bdatActive) { Reply(new SmtpReply(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: AUTH not allowed during a mail transaction")); return default; }
        int sp = args.IndexOf((byte)' ');
        string name = Encoding.ASCII.GetString(sp < 0 ? args : args[..sp]);
        ReadOnlySpan<byte> initial = sp < 0 ? default : SmtpCommandParser.TrimSpaces(args[(sp + 1)..]);
        if (name.Length == 0) { Reply(Syntax("Syntax: AUTH mechanism [initial-response]")); return default; }
        ISaslMechanism? mechanism = auth.Mechanisms.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));
        if (mechanism is null)
        {
            Reply(new SmtpReply(SmtpReplyCode.ParameterNotImplemented, EnhancedStatusCode.InvalidArguments, "Error: unrecognized authentication type"));
            return default;
        }
        if (_tls is null && !_listener.AllowPlaintextAuth)
        {
            // RFC 4954 §6: 538 5.7.11 Encryption required for requested authentication mechanism.
            Reply(new SmtpReply(SmtpReplyCode.EncryptionRequired, new EnhancedStatusCode(5, 7, 11), "Encryption required for requested authentication mechanism"));
            return default;
        }
        SaslContext context = SaslContextNow();
        if (!mechanism.IsAvailable(context))
        {
            Reply(new SmtpReply(SmtpReplyCode.ParameterNotImplemented, EnhancedStatusCode.InvalidArguments, "Error: authentication type not available on this connection"));
            return default;
        }
        if (auth.Limiter.IsBlocked(_info.Remote.Address, out _))
        {
            _log.LogWarning("AUTH refused: {Client} is blocked after too many failures", _info.Remote.Address);
            Reply(new SmtpReply(SmtpReplyCode.TemporaryAuthenticationFailure, EnhancedStatusCode.TemporarySecurity, "Error: too many failed authentication attempts, try again later"));
            return default;
        }
        byte[]? response = null;
        if (!initial.IsEmpty)
        {
            if (!TryDecodeBase64(initial, out response))
            {
                Reply(new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.SyntaxError, "Error: invalid base64 data"));
                return default;
            }
        }
        _sasl = mechanism.Start(context);
        _saslFinal = false;
        return SaslStepAsync(response);
    }

    private ValueTask AuthResponseAsync(ReadOnlyMemory<byte> line)
    {
        ReadOnlySpan<byte> text = line.Span;
        if (text.Length > MaxSaslLine)
        {
            EndSasl();
            Reply(SaslLineTooLong);
            return default;
        }
        if (text.Length == 1 && text[0] == '*')
        {
            // RFC 4954 §4: "If the client wishes to cancel the authentication exchange, it issues a line with a single "*"".
            EndSasl();
            Reply(new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, new EnhancedStatusCode(5, 7, 0), "Authentication cancelled"));
            return default;
        }
        if (_saslFinal)
        {
            string user = _saslUser!;
            _saslUser = null;
            EndSasl();
            if (!text.IsEmpty)
            {
                Reply(new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.SyntaxError, "Error: unexpected data after authentication"));
                return default;
            }
            Authenticated(user);
            return default;
        }
        if (!TryDecodeBase64(text, out byte[] response))
        {
            EndSasl();
            Reply(new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.SyntaxError, "Error: invalid base64 data"));
            return default;
        }
        return SaslStepAsync(response);
    }

    private async ValueTask SaslStepAsync(byte[]? response)
    {
        SaslStep step = await _sasl!.StepAsync(response, CancellationToken.None).ConfigureAwait(false);
        var limiter = _server.Authentication!.Limiter;
        switch (step.Kind)
        {
            case SaslStepKind.Challenge:
                _mode = Mode.Auth;
                Reply(new SmtpReply(SmtpReplyCode.AuthenticationChallenge, null, Convert.ToBase64String(step.Data ?? [])));
                return;
            case SaslStepKind.Success when step.Data is { Length: > 0 } final:
                _mode = Mode.Auth;
                _saslFinal = true;
                _saslUser = step.User;
                Reply(new SmtpReply(SmtpReplyCode.AuthenticationChallenge, null, Convert.ToBase64String(final)));
                return;
            case SaslStepKind.Success:
                EndSasl();
                Authenticated(step.User!);
                return;
            case SaslStepKind.Malformed:
                EndSasl();
                _log.LogInformation("AUTH malformed: {Reason}", step.Reason);
                Reply(new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.SyntaxError, "Error: malformed authentication data"));
                return;
            default:
                EndSasl();
                limiter.RecordFailure(_info.Remote.Address);
                _log.LogWarning("AUTH failed from {Client}: {Reason}", _info.Remote.Address, step.Reason);
                Reply(new SmtpReply(SmtpReplyCode.AuthenticationInvalid, new EnhancedStatusCode(5, 7, 8), "Error: authentication failed"));
                return;
        }
    }

    private void Authenticated(string user)
    {
        _server.Authentication!.Limiter.RecordSuccess(_info.Remote.Address);
        _saslUser = user;
        _info = _info with { AuthenticatedUser = user };
        _log.LogInformation("authenticated as {User}", user);
        Reply(new SmtpReply(SmtpReplyCode.AuthenticationSucceeded, new EnhancedStatusCode(2, 7, 0), "Authentication successful"));
    }

    private void EndSasl()
    {
        _sasl = null;
        _saslFinal = false;
        if (_mode == Mode.Auth) _mode = Mode.Command;
        if (_info.AuthenticatedUser is null) _saslUser = null;
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

    /// <summary>MAIL (RFC 5321 §4.1.1.2) with the parameters of the enabled extensions.</summary>
    private async ValueTask MailAsync(Mailbox? reversePath, MailParameters mp)
    {
        PolicyDecision d = await _server.Policy.CheckMailAsync(_info, reversePath, CancellationToken.None).ConfigureAwait(false);
        if (d.Verdict != PolicyVerdict.Accept)
        {
            _log.LogInformation("MAIL from {ReversePath} refused: {Reason}", reversePath?.ToString() ?? "<>", d.Reason);
            Reply(d.Reply!);
            return;
        }
        _hasMail = true;
        _reversePath = reversePath;
        _mailParams = mp;
        Reply(SmtpReply.SenderOk);
    }

    private SmtpReply? ParseMail(ReadOnlySpan<byte> line, ReadOnlySpan<byte> args, out Mailbox? reversePath, out MailParameters mp)
    {
        reversePath = null;
        mp = default;
        if (_helo is null) return new SmtpReply(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: send HELO/EHLO first");
        if (_hasMail || _bdatActive) return new SmtpReply(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: nested MAIL command");
        if (_listener.RequiresAuth && _info.AuthenticatedUser is null)
            return new SmtpReply(SmtpReplyCode.AuthenticationRequired, new EnhancedStatusCode(5, 7, 0), "Authentication required");
        if (!SmtpCommandParser.HasPathPrefix(line, SmtpVerb.Mail)) return Syntax("Syntax: MAIL FROM:<address>");
        // The path is parsed allowing UTF-8; whether SMTPUTF8 was given is known only from the parameters after it.
        PathParseStatus ps = PathParser.TryParse(args, allowNull: true, allowPostmaster: false, allowUtf8: true, out reversePath, out int used);
        if (ps != PathParseStatus.Ok)
            return new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.BadSenderSyntax,
                ps switch
                {
                    PathParseStatus.TooLong => "Error: sender address too long",
                    PathParseStatus.BadSourceRoute => "Error: bad source route in sender address",
                    _ => "Error: bad sender address syntax",
                });
        ParameterParseStatus pps = EsmtpParameterParser.ParseMail(args[used..], Extensions, out mp);
        if (pps != ParameterParseStatus.Ok) return ParameterError(pps, mp.FaultKeyword);
        if (!mp.SmtpUtf8 && !Ascii.IsValid(args[..used]))
            return new SmtpReply(SmtpReplyCode.MailboxNameNotAllowed, EnhancedStatusCode.NonAsciiNotPermitted, "Error: non-ASCII address needs the SMTPUTF8 parameter");
        if (mp.Size is { } size && size > _limits.MessageSize)
            return new SmtpReply(SmtpReplyCode.ExceededStorage, EnhancedStatusCode.MessageTooBig, "Error: message size exceeds fixed limit");
        return null;
    }

    private static SmtpReply ParameterError(ParameterParseStatus status, string? keyword) => status == ParameterParseStatus.Unknown
        ? new SmtpReply(SmtpReplyCode.ParametersNotRecognized, EnhancedStatusCode.InvalidArguments, $"Error: unsupported parameter {keyword}")
        : new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.InvalidArguments, keyword is null ? "Error: malformed parameters" : $"Error: bad parameter {keyword}");

    /// <summary>RCPT (RFC 5321 §4.1.1.3) with DSN parameters (RFC 3461 §4.1, §4.2).</summary>
    private async ValueTask RcptAsync(Mailbox forwardPath, RcptParameters rp)
    {
        PolicyDecision d = await _server.Policy.CheckRecipientAsync(_info, _reversePath, forwardPath, CancellationToken.None).ConfigureAwait(false);
        if (d.Verdict != PolicyVerdict.Accept)
        {
            _log.LogInformation("RCPT to {ForwardPath} refused: {Reason}", forwardPath, d.Reason);
            Reply(d.Reply!);
            return;
        }
        _recipients.Add(new Recipient(forwardPath, rp.Notify, rp.OriginalRecipient));
        Reply(SmtpReply.RecipientOk);
    }

    private SmtpReply? ParseRcpt(ReadOnlySpan<byte> line, ReadOnlySpan<byte> args, out Mailbox? forwardPath, out RcptParameters rp)
    {
        forwardPath = null;
        rp = default;
        if (!_hasMail || _bdatActive) return new SmtpReply(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: need MAIL command");
        if (!SmtpCommandParser.HasPathPrefix(line, SmtpVerb.Rcpt)) return Syntax("Syntax: RCPT TO:<address>");
        bool utf8 = _mailParams.SmtpUtf8;
        PathParseStatus ps = PathParser.TryParse(args, allowNull: false, allowPostmaster: true, allowUtf8: utf8, out forwardPath, out int used);
        if (ps == PathParseStatus.NonAsciiNotAllowed)
            return new SmtpReply(SmtpReplyCode.MailboxNameNotAllowed, EnhancedStatusCode.NonAsciiNotPermitted, "Error: non-ASCII address needs the SMTPUTF8 parameter");
        // A malformed source route is PathParseStatus.BadSourceRoute, so it gets 501 5.1.3 here and not the relay refusal.
        if (ps == PathParseStatus.Syntax && LooksLikeRelayTrick(args))
            return new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.NotAuthorized, "Relay access denied");
        if (ps != PathParseStatus.Ok)
            return new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.BadDestinationSyntax,
                ps switch
                {
                    PathParseStatus.TooLong => "Error: recipient address too long",
                    PathParseStatus.BadSourceRoute => "Error: bad source route in recipient address",
                    _ => "Error: bad recipient address syntax",
                });
        ParameterParseStatus pps = EsmtpParameterParser.ParseRcpt(args[used..], Extensions, out rp);
        if (pps != ParameterParseStatus.Ok) return ParameterError(pps, rp.FaultKeyword);
        if (_recipients.Count >= _limits.RecipientsPerMessage) return SmtpReply.TooManyRecipients;
        return null;
    }

    /// <summary>A forward-path such as <c>&lt;user@foreign@local&gt;</c>: not in the grammar, but a classic relay probe
    /// that mail admins expect to see refused as such (5.7.1) rather than as a syntax error.</summary>
    private static bool LooksLikeRelayTrick(ReadOnlySpan<byte> args)
    {
        int close = args.IndexOf((byte)'>');
        ReadOnlySpan<byte> path = close > 0 ? args[..close] : args;
        return path.Count((byte)'@') > 1 && !path.Contains((byte)':') && !path.Contains((byte)'"');
    }

    /// <summary>DATA (RFC 5321 §4.1.1.4): 354, then the message up to CRLF.CRLF.</summary>
    private async ValueTask DataAsync(bool hasArguments)
    {
        if (hasArguments) { Reply(Syntax("Syntax: DATA")); return; }
        if (!_hasMail || _bdatActive) { Reply(new SmtpReply(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: need MAIL command")); return; }
        if (_recipients.Count == 0) { Reply(new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.InvalidCommand, "Error: no valid recipients")); return; }
        if (!await BeginMessageAsync().ConfigureAwait(false)) return;
        _decoder = new DataDecoder(_limits.MessageSize, _limits.TextLineLength);
        _mode = Mode.Data;
        Reply(SmtpReply.StartMailInput);
    }

    /// <summary>BDAT (RFC 3030 §2): <c>BDAT chunk-size [SP "LAST"]</c>, then exactly chunk-size octets.</summary>
    private bool Bdat(ReadOnlySpan<byte> args)
    {
        int sp = args.IndexOf((byte)' ');
        ReadOnlySpan<byte> sizeText = sp < 0 ? args : args[..sp];
        ReadOnlySpan<byte> rest = sp < 0 ? default : SmtpCommandParser.TrimSpaces(args[(sp + 1)..]);
        if (sizeText.IsEmpty || sizeText.Length > 18 || sizeText.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0
            || !(rest.IsEmpty || Ascii.EqualsIgnoreCase(rest, "LAST"u8)))
        {
            // Without a chunk size the octets that follow cannot be skipped; the client is told and the session goes on.
            Reply(Syntax("Syntax: BDAT chunk-size [LAST]"));
            return false;
        }
        _bdatRemaining = long.Parse(Encoding.ASCII.GetString(sizeText), CultureInfo.InvariantCulture);
        _bdatLast = !rest.IsEmpty;
        _mode = Mode.Bdat;
        return true;
    }

    private async ValueTask BdatBeginAsync()
    {
        if (!_bdatActive && _bdatFailure is null)
        {
            // The first chunk of a transaction: check the sequence once; later chunks inherit the outcome.
            if ((Extensions & SmtpExtensions.Chunking) == 0) _bdatFailure = NotImplemented;
            else if (!_hasMail) _bdatFailure = new SmtpReply(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: need MAIL command");
            else if (_recipients.Count == 0) _bdatFailure = new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.InvalidCommand, "Error: no valid recipients");
            else if (!await BeginMessageAsync().ConfigureAwait(false)) _bdatFailure = SmtpReply.QueueWriteError;
            else
            {
                _bdatActive = true;
                _bdatChecker = new BdatChecker(_mailParams.Body == BodyType.BinaryMime, _limits.TextLineLength);
            }
        }
    }

    private void AcceptBdatBytes(ReadOnlySpan<byte> bytes)
    {
        if (_bdatFailure is not null || !_bdatActive) return;
        _bdatChecker.Check(bytes);
        long room = _limits.MessageSize - _messageBytes;
        _messageBytes += bytes.Length;
        if (bytes.Length > room)
        {
            _bdatFailure = SmtpReply.MessageTooBig;
            return;
        }
        _bodyBuffer!.Write(bytes);
    }

    private async ValueTask FinishChunkAsync()
    {
        if (_bdatFailure is null && _bdatActive && _bdatChecker.Faults != DataFaults.None)
            _bdatFailure = FaultReply(_bdatChecker.Faults);
        if (_bdatFailure is { } failure)
        {
            // RFC 3030 §2: after a failed chunk the transaction fails; later chunks get the same answer until LAST.
            bool transactionFailure = _bdatActive || _hasMail;
            Reply(failure);
            if (_bdatLast || !transactionFailure)
            {
                await AbortMessageAsync().ConfigureAwait(false);
                if (transactionFailure) ResetTransaction();
                _bdatFailure = null;
            }
            return;
        }
        if (!_bdatLast)
        {
            Reply(new SmtpReply(SmtpReplyCode.Ok, EnhancedStatusCode.Success, $"{_messageBytes} octets received"));
            return;
        }
        _bdatChecker.Finish();
        if (_bdatChecker.Faults != DataFaults.None)
        {
            Reply(FaultReply(_bdatChecker.Faults));
            await AbortMessageAsync().ConfigureAwait(false);
            ResetTransaction();
            return;
        }
        await CommitAsync().ConfigureAwait(false);
    }

    private async ValueTask FinishDataAsync()
    {
        DataFaults faults = _decoder.Faults;
        _messageBytes = _decoder.DecodedLength;
        if (faults != DataFaults.None)
        {
            _log.LogInformation("message refused: {Faults}, {Bytes} bytes", faults, _messageBytes);
            Reply(FaultReply(faults));
            await AbortMessageAsync().ConfigureAwait(false);
            ResetTransaction();
            return;
        }
        await CommitAsync().ConfigureAwait(false);
    }

    /// <summary><c>554 5.6.0</c> for a bare CR or LF in message data. Reply text is US-ASCII (RFC 5321 §4.2: "the text
    /// ... is human-readable ... US-ASCII"), so the section sign is spelt out.</summary>
    internal static readonly SmtpReply BareLineEnding = new(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.MediaError,
        "Error: bare <CR> or <LF> in message data (RFC 5321 section 2.3.8)");

    /// <summary><c>554 5.6.0</c> for a text line over 1,000 octets (RFC 5321 §4.5.3.1.6), in US-ASCII.</summary>
    internal static readonly SmtpReply DataLineTooLong = new(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.MediaError,
        "Error: message line longer than 1000 octets (RFC 5321 section 4.5.3.1.6)");

    /// <summary>The reply for what the DATA decoder or BDAT checker found.</summary>
    internal static SmtpReply FaultReply(DataFaults faults)
    {
        if ((faults & DataFaults.TooBig) != 0) return SmtpReply.MessageTooBig;
        if ((faults & (DataFaults.BareLineFeed | DataFaults.BareCarriageReturn)) != 0) return BareLineEnding;
        return DataLineTooLong;
    }

    // ---- the message ----------------------------------------------------------------------------------------------

    private async ValueTask<bool> BeginMessageAsync()
    {
        _queueId = QueueId.New(_time.GetUtcNow());
        _messageBytes = 0;
        _dataStart = _time.GetTimestamp();
        _dataBytes = 0;
        _bodyBuffer ??= new ArrayBufferWriter<byte>(16 * 1024);
        _bodyBuffer.ResetWrittenCount();
        try
        {
            _message = await _server.Sink.BeginAsync(_queueId, CancellationToken.None).ConfigureAwait(false);
            byte[] received = Encoding.UTF8.GetBytes(ReceivedHeader());
            await _message.WriteAsync(received, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (IOException e)
        {
            _log.LogError(e, "cannot begin message {QueueId} in the spool", _queueId);
            await AbortMessageAsync().ConfigureAwait(false);
            Reply(SmtpReply.QueueWriteError);
            return false;
        }
    }

    /// <summary>Moves decoded body bytes from the session's buffer to the spool writer.</summary>
    private async ValueTask SpillBodyAsync()
    {
        if (_bodyBuffer is null || _bodyBuffer.WrittenCount == 0) return;
        CaptureHeaderSection(_bodyBuffer.WrittenSpan);
        if (_message is not null)
        {
            try
            {
                await _message.WriteAsync(_bodyBuffer.WrittenMemory, CancellationToken.None).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                _log.LogError(e, "spool write failed for {QueueId}", _queueId);
                await AbortMessageAsync().ConfigureAwait(false);
                if (_mode == Mode.Bdat || _bdatActive) _bdatFailure = SmtpReply.QueueWriteError;
            }
        }
        _bodyBuffer.ResetWrittenCount();
        if (_bodyBuffer.Capacity > 64 * 1024) _bodyBuffer = null; // do not keep a large buffer for an idle session
    }

    private async ValueTask CommitAsync()
    {
        IMessageWriter? message = _message;
        if (message is null)
        {
            Reply(SmtpReply.QueueWriteError);
            ResetTransaction();
            return;
        }
        if (_headerCapture is not null)
        {
            PolicyDecision d = await _server.Policy.CheckMessageAsync(_info, _reversePath, _headerCapture.WrittenMemory, CancellationToken.None).ConfigureAwait(false);
            if (d.Verdict != PolicyVerdict.Accept)
            {
                _log.LogInformation("message refused: {Reason}", d.Reason);
                await AbortMessageAsync().ConfigureAwait(false);
                Reply(d.Reply!);
                ResetTransaction();
                return;
            }
        }
        var envelope = new Envelope(_queueId, _reversePath, _recipients.ToArray(), _time.GetUtcNow(), _mailParams.Body,
            _mailParams.SmtpUtf8, _mailParams.Return, _mailParams.EnvelopeId, _info.Remote.Address.ToString(), _helo ?? "", message.Length);
        try
        {
            await message.CommitAsync(envelope, CancellationToken.None).ConfigureAwait(false);
            _message = null;
            await message.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _log.LogError(e, "commit failed for {QueueId}", _queueId);
            await AbortMessageAsync().ConfigureAwait(false);
            Reply(SmtpReply.QueueWriteError);
            ResetTransaction();
            return;
        }
        _log.LogInformation("queued {QueueId} from={ReversePath} nrcpt={Recipients} size={Size}",
            _queueId, envelope.ReversePathText, envelope.Recipients.Count, envelope.Size);
        Reply(new SmtpReply(SmtpReplyCode.Ok, EnhancedStatusCode.Success, "Ok: queued as " + _queueId));
        ResetTransaction();
    }

    private async ValueTask AbortMessageAsync()
    {
        IMessageWriter? message = _message;
        _message = null;
        if (message is null) return;
        try
        {
            await message.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogWarning(e, "could not remove aborted message {QueueId}", _queueId);
        }
    }

    /// <summary>Keeps the message's header section (up to 64 KiB) for the data-stage policy, only for authenticated
    /// sessions, whose From: must be checked against the user (RFC 6409 §8.1 sender binding).</summary>
    private void CaptureHeaderSection(ReadOnlySpan<byte> decoded)
    {
        if (_info.AuthenticatedUser is null || _headerComplete) return;
        _headerCapture ??= new ArrayBufferWriter<byte>(4096);
        int room = 64 * 1024 - _headerCapture.WrittenCount;
        ReadOnlySpan<byte> take = decoded.Length > room ? decoded[..room] : decoded;
        int start = Math.Max(0, _headerCapture.WrittenCount - 3);
        _headerCapture.Write(take);
        int end = _headerCapture.WrittenSpan[start..].IndexOf("\r\n\r\n"u8);
        if (end >= 0 || _headerCapture.WrittenCount >= 64 * 1024) _headerComplete = true;
    }

    private void ResetTransaction()
    {
        _headerCapture = null;
        _headerComplete = false;
        _hasMail = false;
        _reversePath = null;
        _mailParams = default;
        _recipients.Clear();
        _bdatActive = false;
        _bdatFailure = null;
        _messageBytes = 0;
        _dataStart = 0;
    }

    /// <summary>The trace header of RFC 5321 §4.4, with the protocol name of RFC 3848 / RFC 6531 §3.7.3.</summary>
    private string ReceivedHeader()
    {
        string literal = AddressLiteral(_info.Remote.Address);
        string from = IsPlainDomainOrLiteral(_helo) ? _helo! : "unknown";
        // RFC 3848 §2 (ESMTPS, ESMTPA, ESMTPSA) and RFC 6531 §3.7.3 (UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA).
        string suffix = (_tls is not null ? "S" : "") + (_info.AuthenticatedUser is not null ? "A" : "");
        string with = _esmtp ? (_mailParams.SmtpUtf8 ? "UTF8SMTP" : "ESMTP") + suffix : "SMTP";
        string tlsInfo = _tls is null ? "" : $"\r\n\t(using {TlsVersion(_tls.SslProtocol)} with cipher {_tls.NegotiatedCipherSuite})";
        string date = _time.GetUtcNow().UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
        string @for = _recipients.Count == 1 ? $"\r\n\tfor <{_recipients[0].Address}>" : "";
        return $"Received: from {from} ({literal}){tlsInfo}\r\n\tby {_options.HostName} with {with} id {_queueId}{@for};\r\n\t{date}\r\n";
    }

    private static string TlsVersion(System.Security.Authentication.SslProtocols p) =>
        p == System.Security.Authentication.SslProtocols.Tls13 ? "TLSv1.3" : p == System.Security.Authentication.SslProtocols.Tls12 ? "TLSv1.2" : p.ToString();

    private static string AddressLiteral(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[IPv6:" + address + "]" : "[" + address + "]";
    }

    private static bool IsPlainDomainOrLiteral(string? name)
    {
        if (string.IsNullOrEmpty(name) || !Ascii.IsValid(name)) return false;
        ReadOnlySpan<byte> bytes = Encoding.ASCII.GetBytes(name);
        int n = bytes[0] == '[' ? PathParser.ScanAddressLiteral(bytes) : PathParser.ScanDomain(bytes, allowUtf8: false, out _);
        return n == bytes.Length;
    }

    // ---- replies, flushing, timeouts ------------------------------------------------------------------------------

    private void Reply(SmtpReply reply)
    {
        ReplyWriter.Write(_writer, reply);
        _unflushed = true;
        if (_log.IsEnabled(LogLevel.Trace)) _log.LogTrace("S: {Reply}", reply.ToString().TrimEnd());
        int code = (int)reply.Code;
        if (code == 421)
        {
            _closing = true;
            return;
        }
        if (code >= 400 && ++_errors >= _limits.MaxErrors)
        {
            _log.LogInformation("too many errors ({Errors}), closing", _errors);
            ReplyWriter.Write(_writer, new SmtpReply(SmtpReplyCode.ServiceNotAvailable, EnhancedStatusCode.TemporarySecurity, _options.HostName + " Error: too many errors"));
            _closing = true;
        }
    }

    private async ValueTask<bool> FlushAsync()
    {
        _unflushed = false;
        FlushResult r = await _writer.FlushAsync().ConfigureAwait(false);
        return !r.IsCanceled && !r.IsCompleted;
    }

    private void OnShutdown()
    {
        _shutdownDeadline = _time.GetTimestamp() + ToTicks(_limits.ShutdownTimeout);
        if (_mode is Mode.Command or Mode.DiscardLine) Abort("shutdown");
    }

    private void Abort(string reason)
    {
        _abortReason ??= reason;
        if (_finished) return;
        if (!_pipesReady)
        {
            // Still waiting for the first byte: shutting the receive side ends that wait.
            try
            {
                (_stream as System.Net.Sockets.NetworkStream)?.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Receive);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                // Already gone.
            }
            return;
        }
        try
        {
            _reader.CancelPendingRead();
            _writer.CancelPendingFlush();
        }
        catch (ObjectDisposedException)
        {
            // The session ended between the check and the cancel: nothing left to cancel.
        }
    }

    /// <inheritdoc />
    public void OnHeartbeat(long nowTicks)
    {
        if (_abortReason is not null) return;
        if (nowTicks > _deadline)
        {
            Abort("timeout exceeded");
            return;
        }
        if (_shutdownDeadline != 0 && nowTicks > _shutdownDeadline)
        {
            Abort("shutdown");
            return;
        }
        if (_mode is Mode.Data or Mode.Bdat && _limits.MinDataRate > 0 && _dataStart != 0)
        {
            double seconds = _time.GetElapsedTime(_dataStart, nowTicks).TotalSeconds;
            if (seconds > _limits.MinDataRateGracePeriod.TotalSeconds && _dataBytes < seconds * _limits.MinDataRate)
                Abort("data rate below minimum");
        }
    }

    private long ToTicks(TimeSpan t) => (long)(t.TotalSeconds * _time.TimestampFrequency);

    /// <summary>An AUTH command for the transcript: the verb and mechanism, never the initial response, which carries
    /// credentials (RFC 4954 §4; PLAIN's holds the password).</summary>
    private static string RedactAuth(ReadOnlySpan<byte> line)
    {
        int first = line.IndexOf((byte)' ');
        if (first < 0) return Escape(line);
        int second = line[(first + 1)..].IndexOf((byte)' ');
        if (second < 0) return Escape(line);
        int end = first + 1 + second;
        return Escape(line[..end]) + $" ({line.Length - end - 1} octets of initial response, not logged)";
    }

    private static string Escape(ReadOnlySpan<byte> line)
    {
        var sb = new StringBuilder(Math.Min(line.Length, 200));
        foreach (byte b in line.Length > 200 ? line[..200] : line)
            sb.Append(b is >= 32 and < 127 ? (char)b : '?');
        return sb.ToString();
    }
}
