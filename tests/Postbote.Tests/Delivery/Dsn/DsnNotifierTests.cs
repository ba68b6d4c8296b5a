using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MimeKit;
using Postbote.Core;
using Postbote.Delivery.Dsn;
using Postbote.Queue;
using static Postbote.Tests.Delivery.Dsn.DsnTestSpool;

namespace Postbote.Tests.Delivery.Dsn;

/// <summary>RFC 3461's NOTIFY policy and the null reverse-path, with the notices committed into a real spool and read back
/// from it.</summary>
public sealed class DsnNotifierTests : IDisposable
{
    private static readonly Mailbox Sender = new("sender", "example.org");
    private readonly DsnTestSpool _spool = new();
    private readonly ListLogger _log = new();
    private readonly DsnNotifier _notifier;

    public DsnNotifierTests() =>
        _notifier = new DsnNotifier(new DsnOptions { HostName = "mx.postbote.test" }, _spool.Spool, _log);

    public void Dispose() => _spool.Dispose();

    private sealed class ListLogger : ILogger<DsnNotifier>
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Lines.Enqueue(formatter(state, exception));
    }

    private static RecipientQueueState StateFor(DsnAction action, DeliveryHandover handover = DeliveryHandover.Final) => action switch
    {
        DsnAction.Failed => Failed("550 5.1.1 no such user"),
        DsnAction.Delayed => new RecipientQueueState(2, Now.AddHours(1), "451 4.4.1 no answer") { LastAttemptAt = LastAttempt },
        _ => new RecipientQueueState(1, null, "250 2.0.0 ok") { LastAttemptAt = LastAttempt, Handover = handover },
    };

    private async Task<IReadOnlyList<QueueId>> NotifyOneAsync(DsnNotify notify, DsnAction action,
        DeliveryHandover handover = DeliveryHandover.Final, Mailbox? sender = null, bool nullSender = false)
    {
        SpoolEntry entry = await _spool.CommitAsync(Original, nullSender ? null : sender ?? Sender,
            [("bob@example.net", notify, null)], [StateFor(action, handover)]);
        return await _notifier.SendAsync(new DeliveryNotice(entry, [new NoticeRecipient(0, action)], Now), CancellationToken.None);
    }

    [Theory]
    // RFC 3461 §4.1: NEVER is nothing, whatever happened.
    [InlineData(DsnNotify.Never, DsnAction.Failed, 0)]
    [InlineData(DsnNotify.Never, DsnAction.Delayed, 0)]
    [InlineData(DsnNotify.Never, DsnAction.Delivered, 0)]
    // No NOTIFY: failure and delay, never success.
    [InlineData(DsnNotify.Default, DsnAction.Failed, 1)]
    [InlineData(DsnNotify.Default, DsnAction.Delayed, 1)]
    [InlineData(DsnNotify.Default, DsnAction.Delivered, 0)]
    [InlineData(DsnNotify.Default, DsnAction.Relayed, 0)]
    // The conditions as listed.
    [InlineData(DsnNotify.Success, DsnAction.Delivered, 1)]
    [InlineData(DsnNotify.Success, DsnAction.Relayed, 1)]
    [InlineData(DsnNotify.Success, DsnAction.Failed, 0)]
    [InlineData(DsnNotify.Success, DsnAction.Delayed, 0)]
    [InlineData(DsnNotify.Failure, DsnAction.Failed, 1)]
    [InlineData(DsnNotify.Failure, DsnAction.Delayed, 0)]
    [InlineData(DsnNotify.Failure, DsnAction.Delivered, 0)]
    [InlineData(DsnNotify.Delay, DsnAction.Delayed, 1)]
    [InlineData(DsnNotify.Delay, DsnAction.Failed, 0)]
    [InlineData(DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay, DsnAction.Delivered, 1)]
    public async Task NotifyDecidesWhetherANoticeIsQueued(DsnNotify notify, DsnAction action, int expected)
    {
        IReadOnlyList<QueueId> sent = await NotifyOneAsync(notify, action);
        Assert.Equal(expected, sent.Count);
        Assert.Equal(1 + expected, _spool.Spool.List().Count);
    }

    [Fact]
    public async Task ASuccessHandedToANextHopWithDsnIsReportedThereNotHere()
    {
        Assert.Empty(await NotifyOneAsync(DsnNotify.Success, DsnAction.Delivered, DeliveryHandover.RelayedWithDsn));
        Assert.Single(await NotifyOneAsync(DsnNotify.Success, DsnAction.Delivered, DeliveryHandover.Relayed));
    }

    [Theory]
    [InlineData(DsnAction.Failed)]
    [InlineData(DsnAction.Delayed)]
    [InlineData(DsnAction.Delivered)]
    public async Task AMessageFromTheNullReversePathIsNeverReported(DsnAction action)
    {
        // The bounce of a bounce: RFC 5321 §6.1 "the receiver-SMTP MUST NOT send a notification".
        Assert.Empty(await NotifyOneAsync(DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay, action, nullSender: true));
        Assert.Single(_spool.Spool.List());
        Assert.Empty(_log.Lines);
    }

    [Fact]
    public async Task TheBounceIsCommittedToTheSpoolFromTheNullReversePathToTheSender()
    {
        SpoolEntry original = await _spool.CommitAsync(Original, Sender,
            [("bob@example.net", DsnNotify.Default, "rfc822;bob@example.net")], [StateFor(DsnAction.Failed)], envid: "ENV+2B1");
        QueueId id = Assert.Single(await _notifier.SendAsync(
            new DeliveryNotice(original, [new NoticeRecipient(0, DsnAction.Failed)], Now), CancellationToken.None));

        SpoolEntry notice = _spool.Spool.Read(id) ?? throw new InvalidOperationException("The notice is not in the spool.");
        Assert.Null(notice.Envelope.ReversePath);
        Assert.Equal("<>", notice.Envelope.ReversePathText);
        Recipient to = Assert.Single(notice.Envelope.Recipients);
        Assert.Equal("sender@example.org", to.Address.ToString());
        Assert.Equal(DsnNotify.Never, to.Notify);
        Assert.Equal(BodyType.EightBitMime, notice.Envelope.Body);   // the returned original has 8-bit text
        Assert.Equal(DeliveryStatus.Queued, to.Status);

        MimeMessage dsn = Parse(Spool.ReadBody(notice));
        Assert.Equal("Undelivered Mail Returned to Sender", dsn.Subject);
        Assert.Equal(id.Value + "@mx.postbote.test", dsn.MessageId);
        HeaderList[] groups = [.. ((MessageDeliveryStatus)Report(dsn)[1]).StatusGroups];
        Assert.Equal("ENV+1", Field(groups[0], "Original-Envelope-Id"));
        Assert.Equal("rfc822; bob@example.net", Field(groups[1], "Original-Recipient"));
        Assert.Equal("failed", Field(groups[1], "Action"));
        Assert.IsType<MessagePart>(Report(dsn)[2]);

        Assert.Equal($"{original.Envelope.Id}: sender non-delivery notification: {id}", Assert.Single(_log.Lines));
    }

    [Fact]
    public async Task OneNoticePerKindWithEveryRecipientOfThatKind()
    {
        SpoolEntry entry = await _spool.CommitAsync(Original, Sender,
            [("a@example.net", DsnNotify.Default, null), ("b@example.net", DsnNotify.Delay, null),
             ("c@example.net", DsnNotify.Failure, null), ("d@example.net", DsnNotify.Default, null)],
            [StateFor(DsnAction.Failed), StateFor(DsnAction.Delayed), StateFor(DsnAction.Failed), StateFor(DsnAction.Delivered)]);
        IReadOnlyList<QueueId> sent = await _notifier.SendAsync(new DeliveryNotice(entry,
            [new NoticeRecipient(0, DsnAction.Failed), new NoticeRecipient(1, DsnAction.Delayed),
             new NoticeRecipient(2, DsnAction.Failed), new NoticeRecipient(3, DsnAction.Delivered)], Now), CancellationToken.None);

        Assert.Equal(2, sent.Count);
        MimeMessage bounce = Parse(Spool.ReadBody(_spool.Spool.Read(sent[0])!));
        Assert.Equal("Undelivered Mail Returned to Sender", bounce.Subject);
        Assert.Equal(["rfc822; a@example.net", "rfc822; c@example.net"],
            ((MessageDeliveryStatus)Report(bounce)[1]).StatusGroups.Skip(1).Select(g => Field(g, "Final-Recipient")));
        MimeMessage delay = Parse(Spool.ReadBody(_spool.Spool.Read(sent[1])!));
        Assert.Equal("Delayed Mail (still being retried)", delay.Subject);
        Assert.Equal(["rfc822; b@example.net"],
            ((MessageDeliveryStatus)Report(delay)[1]).StatusGroups.Skip(1).Select(g => Field(g, "Final-Recipient")));
        Assert.Equal([$"{entry.Envelope.Id}: sender non-delivery notification: {sent[0]}",
            $"{entry.Envelope.Id}: sender delay notification: {sent[1]}"], _log.Lines);
    }
}
