using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Net;
using Postbote.Protocol.Smtp;
using Postbote.Queue;
using Postbote.Security;
using Postbote.Tracing;

namespace Postbote.Smtp;

/// <summary>
/// Receives the message of one SMTP session into the spool: DATA (RFC 5321 §4.1.1.4, dot-unstuffed up to CRLF.CRLF)
/// and BDAT (RFC 3030 §2, exact chunks up to LAST), each with the Received header first, the size and line limits,
/// bare CR/LF refused, the header section kept for the data-stage policy, and the commit before <c>250</c>. Body octets
/// pass through a buffer of the session (16 KiB, kept only while below 64 KiB) into the spool's writer, whose memory
/// comes out of the shared body budget (<c>max_body_memory</c>). Also the minimum data rate: the heartbeat checks it
/// through <see cref="OnHeartbeat"/> from the first octet of DATA, or across a whole BDAT transaction.
/// </summary>
internal sealed class MessageReception : ITimeoutTarget
{
    private readonly SmtpSession _session;
    private readonly SmtpServer _server;
    private readonly SmtpServerLimits _limits;
    private readonly MailTransaction _transaction;
    private readonly TimeProvider _time;
    private readonly ILogger _log;

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
    private SmtpReply? _writeFailure;
    private bool _headerComplete;
    private bool _headerCut;
    private long _dataStart;
    private long _dataBytes;
    private MessageIdScanner? _messageId;
    /// <summary>The length of the Received header at the start of the stored message, in bytes.</summary>
    private long _receivedLength;

    /// <summary>Creates the reception of a session.</summary>
    /// <param name="session">The session: replies, identity, greeting and connection.</param>
    /// <param name="server">The spool, policy, limits and clock.</param>
    /// <param name="transaction">The session's mail transaction.</param>
    /// <param name="log">The session's log.</param>
    public MessageReception(SmtpSession session, SmtpServer server, MailTransaction transaction, ILogger log)
    {
        _session = session;
        _server = server;
        _limits = server.Options.Limits;
        _transaction = transaction;
        _time = server.Time;
        _log = log;
    }

    /// <summary>Whether a BDAT transaction is going on (its first chunk began a message, LAST has not come).</summary>
    public bool BdatActive => _bdatActive;

    /// <summary>Whether the DATA decoder has seen the end of data.</summary>
    public bool DataCompleted => _decoder.Completed;

    /// <summary>The octets of the current BDAT chunk still to come.</summary>
    public long ChunkRemaining => _bdatRemaining;

    /// <summary>Parses BDAT's arguments: <c>chunk-size [SP "LAST"]</c>.</summary>
    /// <param name="args">The arguments after the verb.</param>
    /// <param name="size">The chunk size in octets.</param>
    /// <param name="last">Whether LAST was given.</param>
    /// <returns><c>false</c> when they do not parse; without a chunk size the octets that follow cannot be skipped.</returns>
    public static bool TryParseBdat(ReadOnlySpan<byte> args, out long size, out bool last)
    {
        size = 0;
        int sp = args.IndexOf((byte)' ');
        ReadOnlySpan<byte> sizeText = sp < 0 ? args : args[..sp];
        ReadOnlySpan<byte> rest = sp < 0 ? default : SmtpCommandParser.TrimSpaces(args[(sp + 1)..]);
        last = !rest.IsEmpty;
        if (sizeText.IsEmpty || sizeText.Length > 18 || sizeText.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0
            || !(rest.IsEmpty || Ascii.EqualsIgnoreCase(rest, "LAST"u8)))
            return false;
        size = long.Parse(Encoding.ASCII.GetString(sizeText), CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>Begins the message of DATA after its sequence was checked.</summary>
    /// <returns><c>null</c> when DATA may go on (the session answers 354), else the reply for the client.</returns>
    public async ValueTask<SmtpReply?> BeginDataAsync()
    {
        if (await BeginMessageAsync().ConfigureAwait(false) is { } failure) return failure;
        _decoder = new DataDecoder(_limits.MessageSize, _limits.TextLineLength);
        return null;
    }

    /// <summary>Decodes message data as far as the buffer goes or to the end of data, into the session's buffer.</summary>
    /// <param name="buffer">What arrived.</param>
    /// <returns>The octets used.</returns>
    public long Decode(ReadOnlySequence<byte> buffer)
    {
        long used = 0;
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            used += _decoder.Decode(segment.Span, _bodyBuffer!);
            if (_decoder.Completed) break;
        }
        _dataBytes += used;
        return used;
    }

    /// <summary>Begins a BDAT chunk (RFC 3030 §2): the first of a transaction checks the sequence once and begins the
    /// message; later chunks inherit the outcome.</summary>
    /// <param name="size">The chunk size in octets.</param>
    /// <param name="last">Whether it is the last chunk.</param>
    /// <param name="extensions">The extensions in effect for the session.</param>
    /// <returns>A task that completes when the chunk may be read.</returns>
    public async ValueTask BeginChunkAsync(long size, bool last, SmtpExtensions extensions)
    {
        _bdatRemaining = size;
        _bdatLast = last;
        if (!_bdatActive && _bdatFailure is null)
        {
            if ((extensions & SmtpExtensions.Chunking) == 0) _bdatFailure = SmtpReplies.NotImplemented;
            else if (!_transaction.HasMail) _bdatFailure = SmtpReplies.NeedMail;
            else if (_transaction.Recipients.Count == 0) _bdatFailure = SmtpReplies.NoValidRecipients;
            else if (await BeginMessageAsync().ConfigureAwait(false) is { } failure) _bdatFailure = failure;
            else
            {
                _bdatActive = true;
                _bdatChecker = new BdatChecker(_transaction.Parameters.Body == BodyType.BinaryMime, _limits.TextLineLength);
            }
        }
    }

    /// <summary>Takes the chunk's octets from the buffer, as far as it goes or to the chunk's end.</summary>
    /// <param name="buffer">What arrived.</param>
    /// <returns>The octets used.</returns>
    public long TakeChunk(ReadOnlySequence<byte> buffer)
    {
        long take = Math.Min(_bdatRemaining, buffer.Length);
        foreach (ReadOnlyMemory<byte> segment in buffer.Slice(0, take))
            AcceptBdatBytes(segment.Span);
        _bdatRemaining -= take;
        _dataBytes += take;
        return take;
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

    /// <summary>Answers a complete chunk: the failure of the transaction (RFC 3030 §2: later chunks get the same
    /// answer until LAST), the octets so far, or after LAST the commit.</summary>
    /// <returns>A task that completes when answered.</returns>
    public async ValueTask FinishChunkAsync()
    {
        if (_bdatFailure is null && _bdatActive && _bdatChecker.Faults != DataFaults.None)
            _bdatFailure = SmtpReplies.ForFaults(_bdatChecker.Faults);
        if (_bdatFailure is { } failure)
        {
            bool transactionFailure = _bdatActive || _transaction.HasMail;
            _session.Reply(failure);
            if (_bdatLast || !transactionFailure)
            {
                await AbortAsync().ConfigureAwait(false);
                if (transactionFailure) _session.ResetTransaction();
                _bdatFailure = null;
            }
            return;
        }
        if (!_bdatLast)
        {
            _session.Reply(SmtpReplies.ChunkReceived(_messageBytes));
            return;
        }
        _bdatChecker.Finish();
        if (_bdatChecker.Faults != DataFaults.None)
        {
            _session.Reply(SmtpReplies.ForFaults(_bdatChecker.Faults));
            await AbortAsync().ConfigureAwait(false);
            _session.ResetTransaction();
            return;
        }
        await CommitAsync().ConfigureAwait(false);
    }

    /// <summary>Answers the end of DATA: the refusal for what the decoder found, or the commit.</summary>
    /// <returns>A task that completes when answered.</returns>
    public async ValueTask FinishDataAsync()
    {
        DataFaults faults = _decoder.Faults;
        _messageBytes = _decoder.DecodedLength;
        if (faults != DataFaults.None)
        {
            _log.LogInformation("message refused: {Faults}, {Bytes} bytes", faults, _messageBytes);
            _server.Metrics?.Refused("data_fault");
            _session.Reply(SmtpReplies.ForFaults(faults));
            await AbortAsync().ConfigureAwait(false);
            _session.ResetTransaction();
            return;
        }
        await CommitAsync().ConfigureAwait(false);
    }

    /// <summary>Begins the message in the spool and writes its Received header.</summary>
    /// <returns><c>null</c> when begun, else the reply for the client (the failure is the server's).</returns>
    private async ValueTask<SmtpReply?> BeginMessageAsync()
    {
        _queueId = QueueId.New(_time.GetUtcNow());
        _messageBytes = 0;
        _dataStart = _time.GetTimestamp();
        _dataBytes = 0;
        _bodyBuffer ??= new ArrayBufferWriter<byte>(16 * 1024);
        _bodyBuffer.ResetWrittenCount();
        _writeFailure = null;
        try
        {
            _message = await _server.Sink.BeginAsync(_queueId, CancellationToken.None).ConfigureAwait(false);
            SessionInfo info = _session.Info;
            byte[] received = Encoding.UTF8.GetBytes(ReceivedHeader.Format(info.Remote.Address, _session.Helo, _session.Esmtp,
                _transaction.Parameters.SmtpUtf8, _session.Connection.Tls, info.AuthenticatedUser is not null, _server.Options.HostName,
                _queueId, _transaction.Recipients, _time.GetUtcNow()));
            await _message.WriteAsync(received, CancellationToken.None).ConfigureAwait(false);
            _receivedLength = received.Length;
            return null;
        }
        catch (IOException e)
        {
            _log.LogError(e, "cannot begin message {QueueId} in the spool", _queueId);
            await AbortAsync().ConfigureAwait(false);
            return SmtpReplies.ForBeginFailure(e);
        }
    }

    /// <summary>Moves decoded body octets from the session's buffer to the spool writer.</summary>
    /// <param name="inChunk">Whether the session is reading a BDAT chunk.</param>
    /// <returns>A task that completes when moved.</returns>
    public async ValueTask SpillBodyAsync(bool inChunk)
    {
        if (_bodyBuffer is null || _bodyBuffer.WrittenCount == 0) return;
        CaptureHeaderSection(_bodyBuffer.WrittenSpan);
        (_messageId ??= new MessageIdScanner()).Feed(_bodyBuffer.WrittenSpan);
        if (_message is not null)
        {
            try
            {
                await _message.WriteAsync(_bodyBuffer.WrittenMemory, CancellationToken.None).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                _log.LogError(e, "spool write failed for {QueueId}", _queueId);
                await AbortAsync().ConfigureAwait(false);
                _writeFailure = SmtpReplies.ForWriteFailure(e);
                if (inChunk || _bdatActive) _bdatFailure ??= _writeFailure;
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
            _server.Metrics?.Refused("storage");
            _session.Reply(_writeFailure ?? SmtpReply.QueueWriteError);
            _session.ResetTransaction();
            return;
        }
        SessionInfo info = _session.Info;
        var inbound = new InboundMessage(_queueId, _transaction.Policy!, _transaction.Recipients,
            _headerCapture?.WrittenMemory ?? default, _headerComplete, message.Length - _receivedLength,
            () => message.OpenRead(_receivedLength), _transaction.Parameters.SmtpUtf8);
        PolicyDecision d;
        try
        {
            d = await _server.Policy.CheckDataAsync(info, inbound, _session.Connection.Aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_session.Connection.Aborted.IsCancellationRequested)
        {
            // The client is gone or the server is stopping: no reply can reach anyone, nothing was acknowledged.
            await AbortAsync().ConfigureAwait(false);
            _session.ResetTransaction();
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A policy that fails must not lose the client's message silently nor accept it unchecked: the client keeps
            // it and tries again (RFC 3463 §3.4 X.3.5 "System incorrectly configured").
            _log.LogError(e, "end-of-data policy failed for {QueueId}", _queueId);
            await AbortAsync().ConfigureAwait(false);
            _session.Reply(SmtpReplies.PolicyFailure);
            _session.ResetTransaction();
            return;
        }
        if (d.Verdict != PolicyVerdict.Accept)
        {
            _log.LogInformation("message refused: {Reason}", d.Reason);
            _server.Metrics?.Refused("policy_data");
            await AbortAsync().ConfigureAwait(false);
            _session.Reply(d.Reply!);
            _session.ResetTransaction();
            return;
        }
        if (d.Quarantine) _log.LogInformation("message {QueueId} quarantined: {Reason}", _queueId, d.Reason);
        if (d.RemoveRanges is { Count: > 0 } remove)
        {
            try
            {
                // From the last to the first, so the earlier offsets stay right; offsets count from the client's data,
                // which follows Postbote's Received header.
                foreach (MessageRange r in remove.OrderByDescending(r => r.Start))
                    message.RemoveRange(_receivedLength + r.Start, r.Length);
            }
            catch (IOException e)
            {
                _log.LogError(e, "removing header fields failed for {QueueId}", _queueId);
                await AbortAsync().ConfigureAwait(false);
                _session.Reply(SmtpReplies.ForWriteFailure(e));
                _session.ResetTransaction();
                return;
            }
            _log.LogInformation("message {QueueId}: {Count} header field(s) removed", _queueId, remove.Count);
        }
        MailParameters mp = _transaction.Parameters;
        var envelope = new Envelope(_queueId, _transaction.ReversePath, _transaction.Recipients.ToArray(), _time.GetUtcNow(), mp.Body,
            mp.SmtpUtf8, mp.Return, mp.EnvelopeId, info.Remote.Address.ToString(), _session.Helo ?? "", message.Length,
            AddedHeaderText(d.AddHeaders), d.Quarantine);
        long commitStart = _time.GetTimestamp();
        try
        {
            await message.CommitAsync(envelope, CancellationToken.None).ConfigureAwait(false);
            _message = null;
            await message.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _log.LogError(e, "commit failed for {QueueId}", _queueId);
            _server.Metrics?.Refused("storage");
            await AbortAsync().ConfigureAwait(false);
            _session.Reply(SmtpReplies.ForWriteFailure(e));
            _session.ResetTransaction();
            return;
        }
        _log.LogInformation("queued {QueueId} from={ReversePath} nrcpt={Recipients} size={Size}",
            _queueId, envelope.ReversePathText, envelope.Recipients.Count, envelope.Size);
        double commitSeconds = _time.GetElapsedTime(commitStart).TotalSeconds;
        _server.Metrics?.MessageAccepted(commitSeconds);
        Trace(envelope, info, commitSeconds, d);
        _session.Reply(SmtpReplies.Queued(_queueId));
        _session.ResetTransaction();
    }

    /// <summary>The trace of a queued message: its reception, the policy's decisions, the commit.</summary>
    private void Trace(Envelope envelope, SessionInfo info, double commitSeconds, PolicyDecision data)
    {
        IMessageEvents events = _server.Events;
        if (events is NullMessageEvents) return;
        DateTimeOffset now = _time.GetUtcNow();
        System.Net.Security.SslStream? tls = _session.Connection.Tls;
        events.Record(_queueId, new MessageEvent(envelope.ReceivedAt, MessageEventKind.Received)
        {
            Client = info.Remote.Address.ToString(),
            Helo = _session.Helo,
            Tls = tls is null ? null : tls.SslProtocol + " " + tls.NegotiatedCipherSuite,
            User = info.AuthenticatedUser,
            MessageId = _messageId?.MessageId,
            From = envelope.ReversePathText,
            Recipients = envelope.Recipients.Select(r => r.Address.ToString()).ToArray(),
            Size = envelope.Size,
        });
        foreach (var (stage, recipient, verdict, reason) in _transaction.Decisions)
        {
            events.Record(_queueId, new MessageEvent(envelope.ReceivedAt, MessageEventKind.Policy)
            {
                Stage = stage,
                Recipients = recipient is null ? null : [recipient],
                Result = verdict,
                Reason = reason,
            });
        }
        if (data.Quarantine || data.Reason is not null || data.AddHeaders is { Count: > 0 })
        {
            events.Record(_queueId, new MessageEvent(envelope.ReceivedAt, MessageEventKind.Policy)
            {
                Stage = "data",
                Result = data.Quarantine ? "quarantine" : "accept",
                Reason = data.Reason,
            });
        }
        events.Record(_queueId, new MessageEvent(now, MessageEventKind.Committed) { Seconds = Math.Round(commitSeconds, 6) });
    }

    /// <summary>Drops the message being received, if any: the spool deletes what it wrote.</summary>
    /// <returns>A task that completes when dropped.</returns>
    public async ValueTask AbortAsync()
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

    /// <summary>Keeps the message's header section (up to <see cref="InboundMessage.MaxHeaderSection"/>) for the
    /// end-of-data policy: the From: binding of submission (RFC 6409 §8.1), DMARC's From: domain (RFC 7489 §3.1), the hop
    /// count. <c>_headerComplete</c> says whether the whole section ended within the bound.</summary>
    private void CaptureHeaderSection(ReadOnlySpan<byte> decoded)
    {
        if (_headerComplete || _headerCut) return;
        _headerCapture ??= new ArrayBufferWriter<byte>(4096);
        if (_headerCapture.WrittenCount == 0 && decoded.StartsWith("\r\n"u8))
        {
            // No header fields at all: the section is just the empty line.
            _headerCapture.Write("\r\n"u8);
            _headerComplete = true;
            return;
        }
        int room = InboundMessage.MaxHeaderSection - _headerCapture.WrittenCount;
        ReadOnlySpan<byte> take = decoded.Length > room ? decoded[..room] : decoded;
        int start = Math.Max(0, _headerCapture.WrittenCount - 3);
        _headerCapture.Write(take);
        int end = _headerCapture.WrittenSpan[start..].IndexOf("\r\n\r\n"u8);
        if (end >= 0)
        {
            int length = start + end + 4;
            if (length < _headerCapture.WrittenCount)
            {
                byte[] section = _headerCapture.WrittenSpan[..length].ToArray();
                _headerCapture.ResetWrittenCount();
                _headerCapture.Write(section);
            }
            _headerComplete = true;
        }
        else if (_headerCapture.WrittenCount >= InboundMessage.MaxHeaderSection)
        {
            _headerCut = true;
        }
    }

    /// <summary>The header fields the end-of-data policy added, each ending in CRLF, or <c>null</c> for none.</summary>
    private static string? AddedHeaderText(IReadOnlyList<string>? headers)
    {
        if (headers is not { Count: > 0 }) return null;
        if (headers.Count == 1) return string.Concat(headers[0], "\r\n");
        var text = new StringBuilder();
        foreach (string h in headers) text.Append(h).Append("\r\n");
        return text.ToString();
    }

    /// <summary>Forgets the message state of the transaction (the session clears the transaction itself).</summary>
    public void Reset()
    {
        if (_headerCapture is { Capacity: <= 8 * 1024 }) _headerCapture.ResetWrittenCount();
        else _headerCapture = null;
        _headerComplete = false;
        _messageId?.Reset();
        _headerCut = false;
        _bdatActive = false;
        _bdatFailure = null;
        _messageBytes = 0;
        _dataStart = 0;
        _writeFailure = null;
    }

    /// <summary>The minimum data rate (<see cref="SmtpServerLimits.MinDataRate"/>, octets per second after
    /// <see cref="SmtpServerLimits.MinDataRateGracePeriod"/>): during DATA, and across a whole BDAT transaction from its
    /// first chunk to LAST, the commands between chunks included, so a client cannot keep a transaction alive with tiny
    /// chunks far apart. A client too slow is aborted with <see cref="ConnectionAbortReason.DataRateTooLow"/>.</summary>
    /// <param name="nowTicks">The current timestamp.</param>
    public void OnHeartbeat(long nowTicks)
    {
        if ((_session.InMessageData || _bdatActive) && _limits.MinDataRate > 0 && _dataStart != 0)
        {
            double seconds = _time.GetElapsedTime(_dataStart, nowTicks).TotalSeconds;
            if (seconds > _limits.MinDataRateGracePeriod.TotalSeconds && _dataBytes < seconds * _limits.MinDataRate)
                _session.Connection.Abort(ConnectionAbortReason.DataRateTooLow);
        }
    }
}
