using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Net;
using Postbote.Protocol.Smtp;
using Postbote.Security;

namespace Postbote.Smtp;

/// <summary>
/// One SMTP session (RFC 5321 §3, §4) over a <see cref="Net.Connection"/>: reads command lines, dispatches each command
/// and answers it with one reply. AUTH is <see cref="SmtpAuthExchange"/>'s, message data (DATA, BDAT) goes through
/// <see cref="MessageReception"/> into the spool, fixed replies come from <see cref="SmtpReplies"/>. Replies to a
/// pipelined group (RFC 2920) are written in order and flushed together when the client's input is used up.
/// Memory is bounded: a command line is at most <see cref="MaxPhysicalLine"/> octets in the buffer (a longer one is
/// drained and refused with 500 5.5.2).
/// </summary>
internal sealed partial class SmtpSession : IProtocolSession
{
    /// <summary>The most octets of one command line the session buffers (AUTH's 12,288 of RFC 4954 §4 and CRLF);
    /// longer lines are drained.</summary>
    internal const int MaxPhysicalLine = SmtpAuthExchange.MaxSaslLine + 2;

    /// <summary>What the next input is.</summary>
    internal enum Mode : byte { Command, DiscardLine, Data, Bdat, Auth }

    private readonly SmtpServer _server;
    private readonly SmtpServerOptions _options;
    private readonly SmtpServerLimits _limits;
    private readonly ILogger _log;
    // Made on first use: a connection that has sent nothing yet holds none of them.
    private MailTransaction? _transaction;
    private MessageReception? _reception;
    private SmtpAuthExchange? _auth;
    private bool _startTlsPending;
    private bool _discardingSasl;

    private Mode _mode;
    private bool _closing;
    private bool _unflushed;
    private int _errors;
    private long _linesCompleted;

    /// <summary>Creates the session of a connection.</summary>
    /// <param name="server">The service: options, policy, spool, TLS, AUTH.</param>
    /// <param name="listener">The listener that accepted the connection.</param>
    /// <param name="connection">The connection.</param>
    /// <param name="info">The session's identity for the policy.</param>
    /// <param name="log">The service's log.</param>
    public SmtpSession(SmtpServer server, ListenerOptions listener, Connection connection, SessionInfo info, ILogger log)
    {
        _server = server;
        Listener = listener;
        _options = server.Options;
        _limits = _options.Limits;
        Connection = connection;
        Info = info;
        _log = log;
    }

    private MailTransaction Transaction => _transaction ??= new MailTransaction();

    private MessageReception Reception
    {
        get
        {
            if (_reception is null)
            {
                _reception = new MessageReception(this, _server, Transaction, _log);
                Connection.ProtocolDeadlines = _reception;
            }
            return _reception;
        }
    }

    private SmtpAuthExchange Auth => _auth ??= new SmtpAuthExchange(this, _server.Authentication, _log);

    private bool InTransaction => _transaction?.HasMail == true || _reception?.BdatActive == true;

    /// <summary>The connection.</summary>
    internal Connection Connection { get; }

    /// <summary>The listener that accepted the connection.</summary>
    internal ListenerOptions Listener { get; }

    /// <summary>The session's identity and client, as the policy sees it.</summary>
    internal SessionInfo Info { get; set; }

    /// <summary>The HELO/EHLO argument, or <c>null</c> before the client greeted (and after STARTTLS).</summary>
    internal string? Helo { get; private set; }

    /// <summary>Whether the client greeted with EHLO.</summary>
    internal bool Esmtp { get; private set; }

    /// <summary>Whether the session is reading message data (DATA or a BDAT chunk).</summary>
    internal bool InMessageData => _mode is Mode.Data or Mode.Bdat;

    private SmtpExtensions Extensions => Esmtp ? _options.Extensions : SmtpExtensions.None;

    /// <summary>Whether this session needs TLS before mail commands: the listener says so, or it is a submission
    /// listener with TLS set up and no plaintext AUTH allowed (RFC 8314 §3).</summary>
    internal bool TlsRequired => _server.Tls is not null
        && (Listener.RequireTls || (Listener.RequiresAuth && !Listener.AllowPlaintextAuth));

    private bool StartTlsOffered => _server.Tls is not null && !Connection.IsTls && !Listener.ImplicitTls;

    /// <summary>
    /// After the wait for the client's first byte: the 421 to send when a timeout or shutdown ended the wait (the
    /// heartbeat shuts the socket's receive side to end it), else <c>null</c>, with the pipes made for the session.
    /// </summary>
    private byte[]? ClosedBeforeFirstInput()
    {
        ConnectionAbortReason reason = Connection.AbortReason;
        if (reason == ConnectionAbortReason.None)
        {
            Connection.UsePipes();
            return null;
        }
        _log.LogInformation("closing session: {Reason}", SmtpReplies.Describe(reason));
        return Encoding.ASCII.GetBytes(SmtpReplies.Closing(reason, _options.HostName).ToString());
    }

    /// <summary>Serves the connection until QUIT, an error, a timeout, or shutdown.</summary>
    /// <param name="shutdown">Signals that the server is stopping.</param>
    /// <returns>A task that completes when the session is over.</returns>
    public async Task RunAsync(CancellationToken shutdown)
    {
        CancellationTokenRegistration shutdownReg = shutdown.Register(static s => ((SmtpSession)s!).OnShutdown(), this);
        Connection.StartDeadlines();
        _server.Metrics?.SessionOpened();
        try
        {
            PolicyDecision connect = await _server.Policy.CheckConnectAsync(Info, Connection.Aborted).ConfigureAwait(false);
            if (connect.Verdict != PolicyVerdict.Accept)
            {
                _log.LogInformation("connection refused: {Reason}", connect.Reason);
                Connection.UsePipes();
                Reply(connect.Reply ?? SmtpReplies.ServiceRefused);
                await FlushAsync().ConfigureAwait(false);
                return;
            }
            if (Listener.ImplicitTls)
            {
                if (!await HandshakeAsync().ConfigureAwait(false)) return;
                Reply(SmtpReplies.Greeting(_options.HostName));
            }
            else
            {
                // The greeting goes straight to the connection, then a zero-byte read waits for the client's first byte:
                // an idle connection holds no pipe, buffer or read state of its own (and no extra async frame).
                if (GreetPauseApplies)
                {
                    if (!await GreetAfterPauseAsync().ConfigureAwait(false)) return;
                }
                else
                {
                    await Connection.WriteAsync(_server.Greeting).ConfigureAwait(false);
                    await Connection.WaitForInputAsync().ConfigureAwait(false);
                }
                if (ClosedBeforeFirstInput() is { } bye)
                {
                    await Connection.WriteAsync(bye).ConfigureAwait(false);
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
                    Reply(SmtpReplies.Closing(ConnectionAbortReason.Shutdown, _options.HostName));
                    break;
                }
                if (_unflushed && !await FlushAsync().ConfigureAwait(false)) break;
                ReadResult result = await Connection.Input.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    ConnectionAbortReason reason = Connection.AbortReason;
                    if (reason == ConnectionAbortReason.Shutdown && _mode is Mode.Command or Mode.DiscardLine) continue; // the loop head replies 421
                    _log.LogInformation("closing session: {Reason}", SmtpReplies.Describe(reason));
                    Reply(SmtpReplies.Closing(reason, _options.HostName));
                    break;
                }
                ReadOnlySequence<byte> buffer = result.Buffer;
                long readAt = Connection.RestartIdleDeadline();
                // No command line timeout while the session works on what arrived; afterwards it runs from the first
                // octet of the line still incomplete (kept when this read only added to the same line).
                long lineStart = Connection.PendingLineSince, linesBefore = _linesCompleted;
                Connection.PendingLineSince = 0;
                SequencePosition consumed = await ProcessAsync(buffer).ConfigureAwait(false);
                if (_mode == Mode.DiscardLine || _mode is Mode.Command or Mode.Auth && !buffer.Slice(consumed).IsEmpty)
                    Connection.PendingLineSince = lineStart != 0 && _linesCompleted == linesBefore ? lineStart : readAt;
                if (result.IsCompleted)
                {
                    if (_mode != Mode.Command || !buffer.Slice(consumed).IsEmpty)
                        _log.LogInformation("client closed the connection in the middle of {Mode}", _mode);
                    Connection.Input.AdvanceTo(consumed, buffer.End);
                    break;
                }
                Connection.Input.AdvanceTo(consumed, buffer.End);
            }
            if (_unflushed) await FlushAsync().ConfigureAwait(false);
            await Connection.CloseTlsAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            _log.LogInformation("connection lost: {Error}", e.Message);
        }
        finally
        {
            // Unhook shutdown and heartbeat before the pipes complete: neither may cancel a completed reader.
            await shutdownReg.DisposeAsync().ConfigureAwait(false);
            Connection.StopDeadlines();
            _auth?.Settle(failed: false); // the connection ended in the middle of an exchange
            if (_reception is not null) await _reception.AbortAsync().ConfigureAwait(false);
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
                    _linesCompleted++;
                    if (line.Length > MaxPhysicalLine)
                    {
                        Reply(IsAuthLine(line) ? SmtpReplies.SaslLineTooLong : SmtpReply.LineTooLong);
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
                    _linesCompleted++;
                    byte[] text = line.ToArray();
                    int n = text.Length > 0 && text[^1] == '\r' ? text.Length - 1 : text.Length;
                    // A SASL response carries credentials (a password in PLAIN and LOGIN): the transcript shows its size only.
                    if (_log.IsEnabled(LogLevel.Trace)) _log.LogTrace("C: ({Octets} octets of SASL response, not logged)", n);
                    await AuthReplyAsync(Auth.ResponseAsync(text.AsMemory(0, n))).ConfigureAwait(false);
                    continue;
                }
                case Mode.DiscardLine:
                {
                    SequencePosition? lf = buffer.PositionOf((byte)'\n');
                    if (lf is null) return buffer.End;
                    buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
                    _linesCompleted++;
                    _mode = Mode.Command;
                    if (_auth?.InExchange == true) _auth.End();
                    // RFC 4954 §4: a SASL line (an AUTH command or a response) over 12,288 octets gets 500 5.5.6.
                    Reply(_discardingSasl ? SmtpReplies.SaslLineTooLong : SmtpReply.LineTooLong);
                    _discardingSasl = false;
                    continue;
                }
                case Mode.Data:
                {
                    buffer = buffer.Slice(Reception.Decode(buffer));
                    await Reception.SpillBodyAsync(inChunk: false).ConfigureAwait(false);
                    if (!Reception.DataCompleted) return buffer.Start;
                    _mode = Mode.Command;
                    await Reception.FinishDataAsync().ConfigureAwait(false);
                    continue;
                }
                case Mode.Bdat:
                {
                    buffer = buffer.Slice(Reception.TakeChunk(buffer));
                    await Reception.SpillBodyAsync(inChunk: true).ConfigureAwait(false);
                    if (Reception.ChunkRemaining > 0) return buffer.Start;
                    _mode = Mode.Command;
                    await Reception.FinishChunkAsync().ConfigureAwait(false);
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
            Reply(SmtpReplies.InvalidCharacters);
            return default;
        }
        SmtpVerb verb = SmtpCommandParser.ParseVerb(line, out ReadOnlySpan<byte> args);
        if (_log.IsEnabled(LogLevel.Trace)) _log.LogTrace("C: {Line}", verb == SmtpVerb.Auth ? SmtpTranscript.RedactAuth(line) : SmtpTranscript.Escape(line));
        int limit = verb switch
        {
            SmtpVerb.Mail => _limits.CommandLineLength + 26 + 100 + 500,
            SmtpVerb.Rcpt => _limits.CommandLineLength + 500,
            SmtpVerb.Auth => SmtpAuthExchange.MaxSaslLine + 32,
            _ => _limits.CommandLineLength,
        };
        if (length + 2 > limit)
        {
            Reply(verb == SmtpVerb.Auth ? SmtpReplies.SaslLineTooLong : SmtpReply.LineTooLong);
            return default;
        }
        if (TlsRequired && !Connection.IsTls && verb is not (SmtpVerb.Ehlo or SmtpVerb.Helo or SmtpVerb.StartTls or SmtpVerb.Noop or SmtpVerb.Rset or SmtpVerb.Quit or SmtpVerb.Unknown))
        {
            Reply(SmtpReplies.MustStartTls);
            return default;
        }
        switch (verb)
        {
            case SmtpVerb.Ehlo:
            case SmtpVerb.Helo:
                return Hello(verb, args);
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
                if (!MessageReception.TryParseBdat(args, out long chunkSize, out bool last))
                {
                    // Without a chunk size the octets that follow cannot be skipped; the client is told and the session goes on.
                    Reply(SmtpReplies.Syntax("Syntax: BDAT chunk-size [LAST]"));
                    return default;
                }
                _mode = Mode.Bdat;
                return Reception.BeginChunkAsync(chunkSize, last, Extensions);
            case SmtpVerb.Rset:
                if (!args.IsEmpty) { Reply(SmtpReplies.Syntax("Syntax: RSET")); return default; }
                ResetTransaction();
                Reply(SmtpReply.Ok);
                return default;
            case SmtpVerb.Noop:
                Reply(SmtpReply.Ok); // RFC 5321 §4.1.1.9: a parameter string is ignored.
                return default;
            case SmtpVerb.Quit:
                Reply(SmtpReplies.Bye);
                _closing = true;
                return default;
            case SmtpVerb.Vrfy:
                if (args.IsEmpty) Reply(SmtpReplies.Syntax("Syntax: VRFY address"));
                else if (_options.Vrfy) Reply(SmtpReplies.CannotVrfy);
                else Reply(SmtpReplies.NotImplemented);
                return default;
            case SmtpVerb.Expn:
                if (args.IsEmpty) Reply(SmtpReplies.Syntax("Syntax: EXPN list"));
                else if (_options.Expn) Reply(SmtpReplies.CannotExpn);
                else Reply(SmtpReplies.NotImplemented);
                return default;
            case SmtpVerb.Help:
                Reply(SmtpReplies.Help);
                return default;
            case SmtpVerb.StartTls:
                StartTls(args);
                return default;
            case SmtpVerb.Auth:
                return AuthReplyAsync(Auth.BeginAsync(args, Esmtp, InTransaction));
            default:
                Reply(SmtpReply.UnknownCommand);
                return default;
        }
    }

    private static bool IsAuthLine(ReadOnlySequence<byte> line)
    {
        Span<byte> head = stackalloc byte[5];
        if (line.Length < 5) return false;
        line.Slice(0, 5).CopyTo(head);
        return Ascii.EqualsIgnoreCase(head, "AUTH "u8);
    }

    /// <summary>Writes AUTH's reply; while the exchange goes on, the next lines are SASL responses.</summary>
    private async ValueTask AuthReplyAsync(ValueTask<SmtpReply> step)
    {
        SmtpReply reply = await step.ConfigureAwait(false);
        _mode = Auth.InExchange ? Mode.Auth : Mode.Command;
        Reply(reply);
    }

    // ---- STARTTLS (RFC 3207) ------------------------------------------------------------------------------------

    private void StartTls(ReadOnlySpan<byte> args)
    {
        if (_server.Tls is null || Listener.ImplicitTls) { Reply(SmtpReplies.NotImplemented); return; }
        if (Connection.IsTls) { Reply(SmtpReplies.TlsAlreadyActive); return; }
        if (!args.IsEmpty) { Reply(SmtpReplies.Syntax("Syntax: STARTTLS")); return; }
        if (InTransaction) { Reply(SmtpReplies.StartTlsInTransaction); return; }
        Reply(SmtpReplies.ReadyToStartTls);
        _startTlsPending = true;
    }

    /// <summary>Flushes the 220, runs the handshake (the connection drops the clear-text pipes and anything buffered in
    /// them), and forgets everything the client said before (RFC 3207 §4.2: "the server MUST discard any knowledge
    /// obtained from the client, such as the argument to the EHLO command").</summary>
    private async ValueTask<bool> SwitchToTlsAsync()
    {
        if (!await FlushAsync().ConfigureAwait(false)) return false;
        ResetTransaction();
        Helo = null;
        Info = Info with { HeloName = null };
        Esmtp = false;
        return await HandshakeAsync().ConfigureAwait(false);
    }

    private async ValueTask<bool> HandshakeAsync()
    {
        if (!await Connection.StartTlsAsync(_server.Tls!, Listener.LegacyTlsCiphers).ConfigureAwait(false))
        {
            _closing = true;
            return false;
        }
        Info = Info with { IsTls = true };
        if (Connection.Tls is { } tls) _server.Metrics?.TlsEstablished(tls.SslProtocol.ToString());
        return true;
    }

    // ---- MAIL, RCPT, DATA -----------------------------------------------------------------------------------------

    /// <summary>MAIL (RFC 5321 §4.1.1.2) with the parameters of the enabled extensions.</summary>
    private async ValueTask MailAsync(Mailbox? reversePath, MailParameters mp)
    {
        var policy = new PolicyTransaction(reversePath);
        PolicyDecision d = await _server.Policy.CheckMailAsync(Info, policy, Connection.Aborted).ConfigureAwait(false);
        if (d.Verdict != PolicyVerdict.Accept)
        {
            _log.LogInformation("MAIL from {ReversePath} refused: {Reason}", reversePath?.ToString() ?? "<>", d.Reason);
            _server.Metrics?.Refused("policy_mail");
            Reply(d.Reply!);
            return;
        }
        Transaction.Begin(reversePath, mp, policy);
        Reply(SmtpReply.SenderOk);
    }

    private SmtpReply? ParseMail(ReadOnlySpan<byte> line, ReadOnlySpan<byte> args, out Mailbox? reversePath, out MailParameters mp)
    {
        reversePath = null;
        mp = default;
        if (Helo is null) return SmtpReplies.SendHelloFirst;
        if (InTransaction) return SmtpReplies.NestedMail;
        if (Listener.RequiresAuth && Info.AuthenticatedUser is null) return SmtpReplies.AuthenticationRequired;
        return EnvelopeCommandSyntax.Mail(line, args, Extensions, _limits.MessageSize, out reversePath, out mp);
    }

    /// <summary>RCPT (RFC 5321 §4.1.1.3) with DSN parameters (RFC 3461 §4.1, §4.2).</summary>
    private async ValueTask RcptAsync(Mailbox forwardPath, RcptParameters rp)
    {
        PolicyDecision d = await _server.Policy.CheckRecipientAsync(Info, Transaction.Policy!, forwardPath, Connection.Aborted).ConfigureAwait(false);
        if (d.Verdict != PolicyVerdict.Accept)
        {
            _log.LogInformation("RCPT to {ForwardPath} refused: {Reason}", forwardPath, d.Reason);
            _server.Metrics?.Refused("policy_rcpt");
            Transaction.Decisions.Add(("rcpt", forwardPath.ToString(), d.Verdict == PolicyVerdict.Defer ? "defer" : "reject", d.Reason));
            Reply(d.Reply!);
            return;
        }
        Transaction.Decisions.Add(("rcpt", forwardPath.ToString(), "accept", d.Reason));
        Transaction.Recipients.Add(new Recipient(forwardPath, rp.Notify, rp.OriginalRecipient));
        Reply(SmtpReply.RecipientOk);
    }

    private SmtpReply? ParseRcpt(ReadOnlySpan<byte> line, ReadOnlySpan<byte> args, out Mailbox? forwardPath, out RcptParameters rp)
    {
        forwardPath = null;
        rp = default;
        if (_transaction?.HasMail != true || _reception?.BdatActive == true) return SmtpReplies.NeedMail;
        SmtpReply? error = EnvelopeCommandSyntax.Rcpt(line, args, Transaction.Parameters.SmtpUtf8, Extensions, out forwardPath, out rp);
        if (error is not null) return error;
        if (Transaction.Recipients.Count >= _limits.RecipientsPerMessage) return SmtpReply.TooManyRecipients;
        return null;
    }

    /// <summary>DATA (RFC 5321 §4.1.1.4): 354, then the message up to CRLF.CRLF.</summary>
    private async ValueTask DataAsync(bool hasArguments)
    {
        if (hasArguments) { Reply(SmtpReplies.Syntax("Syntax: DATA")); return; }
        if (_transaction?.HasMail != true || _reception?.BdatActive == true) { Reply(SmtpReplies.NeedMail); return; }
        if (Transaction.Recipients.Count == 0) { Reply(SmtpReplies.NoValidRecipients); return; }
        if (Transaction.Parameters.Body == BodyType.BinaryMime)
        {
            // RFC 3030 §3: "If a DATA command is issued after a MAIL command containing the body-value of "BINARYMIME", a
            // 503 "Bad sequence of commands" response MUST be sent."
            Reply(SmtpReplies.BinaryMimeNeedsBdat);
            return;
        }
        if (await Reception.BeginDataAsync().ConfigureAwait(false) is { } failure)
        {
            Reply(failure);
            return;
        }
        _mode = Mode.Data;
        Reply(SmtpReply.StartMailInput);
    }

    /// <summary>Clears the mail transaction and the message state with it (RSET, HELO/EHLO, STARTTLS, end of message).</summary>
    internal void ResetTransaction()
    {
        _reception?.Reset();
        _transaction?.Clear();
    }

    // ---- replies, flushing, shutdown ------------------------------------------------------------------------------

    /// <summary>Writes a reply (unflushed); a 421 closes the session, and so does the error that reaches
    /// <see cref="SmtpServerLimits.MaxErrors"/>, after one more 421.</summary>
    /// <param name="reply">The reply.</param>
    internal void Reply(SmtpReply reply)
    {
        ReplyWriter.Write(Connection.Output, reply);
        _unflushed = true;
        if (_log.IsEnabled(LogLevel.Trace)) _log.LogTrace("S: {Reply}", reply.ToString().TrimEnd());
        int code = (int)reply.Code;
        _server.Metrics?.ReplySent(code);
        if (code == 421)
        {
            _closing = true;
            return;
        }
        // A temporary mail-system status (4.3.x, RFC 3463 §3.4: the spool could not take the message) is the server's own
        // fault, not the client's: it does not bring the client nearer to being cut off.
        if (code >= 400 && reply.Status is not { Class: 4, Subject: 3 } && ++_errors >= _limits.MaxErrors)
        {
            _log.LogInformation("too many errors ({Errors}), closing", _errors);
            ReplyWriter.Write(Connection.Output, SmtpReplies.TooManyErrors(_options.HostName));
            _closing = true;
        }
    }

    private async ValueTask<bool> FlushAsync()
    {
        _unflushed = false;
        FlushResult r = await Connection.Output.FlushAsync().ConfigureAwait(false);
        return !r.IsCanceled && !r.IsCompleted;
    }

    private void OnShutdown()
    {
        Connection.SetShutdownDeadline(_limits.ShutdownTimeout);
        if (_mode is Mode.Command or Mode.DiscardLine) Connection.Abort(ConnectionAbortReason.Shutdown);
    }
}
