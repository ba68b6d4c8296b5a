using Postbote.Tracing;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Delivery.Dsn;

/// <summary>
/// Sends the delivery status notifications the scheduler's notices call for (RFC 3461 §4.1, §6): decides per recipient
/// whether its NOTIFY asks for one, builds one notice per kind with <see cref="DsnBuilder"/> and commits it into the spool
/// through <see cref="IMessageSink"/> under a new queue ID, from the null reverse-path to the original reverse-path, so
/// the normal delivery carries it (into a local Maildir, or relayed).
/// </summary>
/// <remarks>
/// Policy: <c>NOTIFY=NEVER</c> gets nothing; without NOTIFY a failure and a delay are reported (RFC 3461 §4.1 lets the
/// server treat it as <c>NOTIFY=FAILURE</c> or <c>NOTIFY=FAILURE,DELAY</c>; Postbote, like Postfix, takes the second);
/// <c>SUCCESS</c>, <c>DELAY</c> and <c>FAILURE</c> as listed. A success handed to a next hop that offers DSN
/// (<see cref="DeliveryHandover.RelayedWithDsn"/>) is reported by that hop, not here. A message from the null
/// reverse-path never gets a notice, whatever its NOTIFY: that is what keeps a bounce from bouncing.
/// </remarks>
public sealed class DsnNotifier : IDeliveryNotifier
{
    private static readonly DsnAction[] Kinds = [DsnAction.Failed, DsnAction.Delayed, DsnAction.Delivered, DsnAction.Relayed];

    private readonly DsnBuilder _builder;
    private readonly IMessageSink _sink;
    private readonly ILogger<DsnNotifier> _logger;
    private readonly IMessageEvents _events;
    private readonly TimeProvider _time;
    private readonly string _hostName;

    /// <summary>Creates the notifier.</summary>
    /// <param name="options">The host name, the return limits and the message lifetime (see <see cref="DsnOptions"/>).</param>
    /// <param name="sink">Where notices are committed: the spool.</param>
    /// <param name="logger">Where each notice sent is logged, with the original's and the notice's queue ID.</param>
    /// <param name="time">The clock for the notice's queue ID and arrival time; <see cref="TimeProvider.System"/> when
    /// <c>null</c>.</param>
    /// <param name="events">Where each notice is traced (on the original, and as the notice's own reception), or
    /// <c>null</c>.</param>
    /// <exception cref="ArgumentException">The options are not valid (<see cref="DsnOptions.Validate"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options are not valid.</exception>
    public DsnNotifier(DsnOptions options, IMessageSink sink, ILogger<DsnNotifier> logger, TimeProvider? time = null,
        IMessageEvents? events = null)
    {
        _events = events ?? NullMessageEvents.Instance;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(logger);
        _builder = new DsnBuilder(options);
        _hostName = options.HostName;
        _sink = sink;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Whether a recipient's NOTIFY (RFC 3461 §4.1) asks for a notice of this action.</summary>
    /// <param name="notify">The recipient's NOTIFY conditions.</param>
    /// <param name="action">What happened to it.</param>
    /// <param name="handover">For a delivered recipient: where it went.</param>
    /// <returns><c>true</c> when a notice is due.</returns>
    public static bool IsWanted(DsnNotify notify, DsnAction action, DeliveryHandover handover)
    {
        // RFC 3461 §4.1: "NOTIFY=NEVER requests that a DSN not be returned to the sender under any conditions."
        if ((notify & DsnNotify.Never) != 0) return false;
        return action switch
        {
            DsnAction.Failed => notify == DsnNotify.Default || (notify & DsnNotify.Failure) != 0,
            DsnAction.Delayed => notify == DsnNotify.Default || (notify & DsnNotify.Delay) != 0,
            DsnAction.Delivered => (notify & DsnNotify.Success) != 0 && handover != DeliveryHandover.RelayedWithDsn,
            DsnAction.Relayed => (notify & DsnNotify.Success) != 0,
            _ => false,
        };
    }

    /// <inheritdoc />
    public Task NotifyAsync(DeliveryNotice notice, CancellationToken cancellationToken) => SendAsync(notice, cancellationToken);

    /// <summary>Handles one notice and says which notices were queued.</summary>
    /// <param name="notice">The message and the recipients the notice is about.</param>
    /// <param name="cancellationToken">Cancels at shutdown.</param>
    /// <returns>The queue IDs of the notices committed, one per kind of action among the wanted recipients (failed,
    /// delayed, delivered, relayed, in that order); empty when none is wanted.</returns>
    /// <exception cref="IOException">A notice cannot be built (the original's body cannot be read) or committed.</exception>
    /// <exception cref="UnauthorizedAccessException">The original's body file cannot be read.</exception>
    /// <exception cref="ArgumentException">A recipient index is outside the envelope.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<IReadOnlyList<QueueId>> SendAsync(DeliveryNotice notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        SpoolEntry entry = notice.Entry;
        Envelope envelope = entry.Envelope;
        // RFC 5321 §6.1: "if this address is the null ("<>") address, the receiver-SMTP MUST NOT send a notification."
        if (envelope.ReversePath is not { } sender) return [];

        var sent = new List<QueueId>();
        foreach (DsnAction kind in Kinds)
        {
            var group = new List<NoticeRecipient>();
            foreach (NoticeRecipient r in notice.Recipients)
            {
                if (r.Action != kind) continue;
                if ((uint)r.Index >= (uint)envelope.Recipients.Count || r.Index >= entry.States.Count)
                {
                    throw new ArgumentException($"Recipient index {r.Index} is outside the envelope.", nameof(notice));
                }
                if (IsWanted(envelope.Recipients[r.Index].Notify, kind, entry.States[r.Index].Handover)) group.Add(r);
            }
            if (group.Count == 0) continue;
            cancellationToken.ThrowIfCancellationRequested();
            QueueId id = await CommitAsync(entry, sender, group, notice.At, cancellationToken).ConfigureAwait(false);
            sent.Add(id);
            _logger.LogInformation("{QueueId}: sender {Kind} notification: {NoticeId}", envelope.Id, LogName(kind), id);
            DateTimeOffset at = _time.GetUtcNow();
            string[] about = group.Select(r => envelope.Recipients[r.Index].Address.ToString()).ToArray();
            _events.Record(envelope.Id, new MessageEvent(at, MessageEventKind.DsnSent)
            {
                Related = id.Value, Result = LogName(kind), Recipients = about,
            });
            _events.Record(id, new MessageEvent(at, MessageEventKind.Received)
            {
                Related = envelope.Id.Value, From = "<>", Recipients = [envelope.ReversePathText.Trim('<', '>')],
                Reason = $"{LogName(kind)} notification for {envelope.Id.Value}",
            });
        }
        return sent;
    }

    private static string LogName(DsnAction kind) => kind switch
    {
        DsnAction.Failed => "non-delivery",
        DsnAction.Delayed => "delay",
        _ => "delivery status",
    };

    private async Task<QueueId> CommitAsync(SpoolEntry entry, Mailbox sender, List<NoticeRecipient> group, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        QueueId id = QueueId.New(now);
        byte[] bytes = _builder.BuildBytes(entry, group, at, id);
        await using IMessageWriter writer = await _sink.BeginAsync(id, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        // RFC 5321 §6.1: the notification "MUST be sent using a null ("<>") reverse-path in the
        // envelope. The recipient of this notification MUST be the address from the envelope return path".
        var envelope = new Envelope(
            id,
            ReversePath: null,
            Recipients: [new Recipient(sender, DsnNotify.Never)],
            ReceivedAt: now,
            Body: bytes.AsSpan().ContainsAnyExceptInRange((byte)0, (byte)0x7F) ? BodyType.EightBitMime : BodyType.SevenBit,
            SmtpUtf8: entry.Envelope.SmtpUtf8,
            ClientAddress: string.Empty,
            HeloName: _hostName);
        await writer.CommitAsync(envelope, cancellationToken).ConfigureAwait(false);
        return id;
    }
}
