using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Net;
using Postbote.Protocol.Smtp;
using Postbote.Queue;
using Postbote.Security;

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
    internal const int MaxPhysicalLine = 2048;

    private enum Mode : byte { Command, DiscardLine, Data, Bdat }

    private readonly SmtpServer _server;
    private readonly SmtpServerOptions _options;
    private readonly SmtpServerLimits _limits;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly SessionInfo _info;
    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;

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

    public SmtpSession(SmtpServer server, Stream stream, SessionInfo info, ILogger log)
    {
        _server = server;
        _options = server.Options;
        _limits = _options.Limits;
        _time = server.Time;
        _info = info;
        _log = log;
        _stream = stream;
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
        _writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 512, leaveOpen: true));
    }

    /// <summary>The session's identity and client.</summary>
    public SessionInfo Info => _info;

    private SmtpExtensions Extensions => _esmtp ? _options.Extensions : SmtpExtensions.None;

    /// <summary>Serves the connection until QUIT, an error, a timeout, or shutdown.</summary>
    /// <param name="shutdown">Signals that the server is stopping.</param>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async Task RunAsync(CancellationToken shutdown)
    {
        using var shutdownReg = shutdown.Register(static s => ((SmtpSession)s!).OnShutdown(), this);
        _deadline = _time.GetTimestamp() + ToTicks(_limits.IdleTimeout);
        _server.Heartbeat.Add(this);
        try
        {
            PolicyDecision connect = await _server.Policy.CheckConnectAsync(_info, CancellationToken.None).ConfigureAwait(false);
            if (connect.Verdict != PolicyVerdict.Accept)
            {
                _log.LogInformation("connection refused: {Reason}", connect.Reason);
                Reply(connect.Reply ?? new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.NotAuthorized, "Service refused"));
                await FlushAsync().ConfigureAwait(false);
                return;
            }
            Reply(new SmtpReply(SmtpReplyCode.ServiceReady, null, _options.HostName + " ESMTP"));
            while (!_closing)
            {
                if (shutdown.IsCancellationRequested && _mode is Mode.Command or Mode.DiscardLine)
                {
                    Reply(new SmtpReply(SmtpReplyCode.ServiceNotAvailable, new EnhancedStatusCode(4, 3, 2), _options.HostName + " Service shutting down, closing transmission channel"));
                    break;
                }
                if (_unflushed && !await FlushAsync().ConfigureAwait(false)) break;
                ReadResult result = await _reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    string reason = _abortReason ?? "cancelled";
                    if (reason == "shutdown" && _mode is Mode.Command or Mode.DiscardLine) continue; // the loop head replies 421
                    _log.LogInformation("closing session: {Reason}", reason);
                    Reply(new SmtpReply(SmtpReplyCode.ServiceNotAvailable,
                        reason == "shutdown" ? new EnhancedStatusCode(4, 3, 2) : EnhancedStatusCode.BadConnection,
                        reason == "shutdown" ? _options.HostName + " Service shutting down, closing transmission channel" : "Error: " + reason + ", closing transmission channel"));
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
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            _log.LogInformation("connection lost: {Error}", e.Message);
        }
        finally
        {
            _server.Heartbeat.Remove(this);
            await AbortMessageAsync().ConfigureAwait(false);
            await _reader.CompleteAsync().ConfigureAwait(false);
            await _writer.CompleteAsync().ConfigureAwait(false);
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
                            _mode = Mode.DiscardLine;
                            return buffer.End;
                        }
                        return buffer.Start;
                    }
                    ReadOnlySequence<byte> line = buffer.Slice(0, lf.Value);
                    buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
                    if (line.Length > MaxPhysicalLine)
                    {
                        Reply(SmtpReply.LineTooLong);
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
                    continue;
                }
                case Mode.DiscardLine:
                {
                    SequencePosition? lf = buffer.PositionOf((byte)'\n');
                    if (lf is null) return buffer.End;
                    buffer = buffer.Slice(buffer.GetPosition(1, lf.Value));
                    _mode = Mode.Command;
                    Reply(SmtpReply.LineTooLong);
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
        if (_log.IsEnabled(LogLevel.Trace)) _log.LogTrace("C: {Line}", Escape(line));
        int limit = verb switch
        {
            SmtpVerb.Mail => _limits.CommandLineLength + 26 + 100 + 500,
            SmtpVerb.Rcpt => _limits.CommandLineLength + 500,
            _ => _limits.CommandLineLength,
        };
        if (length + 2 > limit)
        {
            Reply(SmtpReply.LineTooLong);
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
            case SmtpVerb.Auth:
                Reply(NotImplemented);
                return default;
            default:
                Reply(SmtpReply.UnknownCommand);
                return default;
        }
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
        Reply(_server.EhloReply);
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
        if (!SmtpCommandParser.HasPathPrefix(line, SmtpVerb.Mail)) return Syntax("Syntax: MAIL FROM:<address>");
        // The path is parsed allowing UTF-8; whether SMTPUTF8 was given is known only from the parameters after it.
        PathParseStatus ps = PathParser.TryParse(args, allowNull: true, allowPostmaster: false, allowUtf8: true, out reversePath, out int used);
        if (ps != PathParseStatus.Ok)
            return new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.BadSenderSyntax,
                ps == PathParseStatus.TooLong ? "Error: sender address too long" : "Error: bad sender address syntax");
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
        if (ps != PathParseStatus.Ok)
            return new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.BadDestinationSyntax,
                ps == PathParseStatus.TooLong ? "Error: recipient address too long" : "Error: bad recipient address syntax");
        ParameterParseStatus pps = EsmtpParameterParser.ParseRcpt(args[used..], Extensions, out rp);
        if (pps != ParameterParseStatus.Ok) return ParameterError(pps, rp.FaultKeyword);
        if (_recipients.Count >= _limits.RecipientsPerMessage) return SmtpReply.TooManyRecipients;
        return null;
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

    private static SmtpReply FaultReply(DataFaults faults)
    {
        if ((faults & DataFaults.TooBig) != 0) return SmtpReply.MessageTooBig;
        if ((faults & (DataFaults.BareLineFeed | DataFaults.BareCarriageReturn)) != 0)
            return new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.MediaError, "Error: bare <CR> or <LF> in message data (RFC 5321 §2.3.8)");
        return new SmtpReply(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.MediaError, "Error: message line longer than 1000 octets (RFC 5321 §4.5.3.1.6)");
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

    private void ResetTransaction()
    {
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
        string with = _esmtp ? (_mailParams.SmtpUtf8 ? "UTF8SMTP" : "ESMTP") : "SMTP";
        string date = _time.GetUtcNow().UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
        string @for = _recipients.Count == 1 ? $"\r\n\tfor <{_recipients[0].Address}>" : "";
        return $"Received: from {from} ({literal})\r\n\tby {_options.HostName} with {with} id {_queueId}{@for};\r\n\t{date}\r\n";
    }

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
        _reader.CancelPendingRead();
        _writer.CancelPendingFlush();
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

    private static string Escape(ReadOnlySpan<byte> line)
    {
        var sb = new StringBuilder(Math.Min(line.Length, 200));
        foreach (byte b in line.Length > 200 ? line[..200] : line)
            sb.Append(b is >= 32 and < 127 ? (char)b : '?');
        return sb.ToString();
    }
}
