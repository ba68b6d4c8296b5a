using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Tracing;

namespace Postbote.Tests.Tracing;

/// <summary>The event store behind <c>postbote trace</c> with real files: lookups by queue ID and Message-ID, links
/// between a notification and its original, restarts, and the bounds of retention and size.</summary>
public sealed class MessageEventStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly QueueId Original = new("01L8T2XSAB002LTQ");
    private static readonly QueueId Notice = new("01L8T2XSAB002LTR");
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Directory => _dir.Combine("trace");

    private MessageEventStore Open(long maxSize = 256L * 1024 * 1024, TimeSpan? retention = null)
    {
        var store = new MessageEventStore(new TraceOptions
        {
            Directory = Directory,
            MaxSize = maxSize,
            Retention = retention ?? TimeSpan.FromDays(7),
            FlushDelay = TimeSpan.FromMilliseconds(5),
        }, NullLogger.Instance);
        store.Start();
        return store;
    }

    [Fact]
    public async Task EventsSurviveARestartAndAreFoundByQueueIdOrMessageIdWithOrWithoutBrackets()
    {
        await using (MessageEventStore first = Open())
        {
            first.Record(Original, new MessageEvent(T0, MessageEventKind.Received) { Client = "192.0.2.7", MessageId = "<m1@example.org>" });
            first.Record(new QueueId("01L8T2XSAB002LTS"), new MessageEvent(T0, MessageEventKind.Received) { MessageId = "<other@example.org>" });
            first.Record(Original, new MessageEvent(T0.AddSeconds(1), MessageEventKind.Attempt) { Attempt = 1, Result = "deferred", Reply = "451 4.3.0 later" });
        }
        await using (MessageEventStore second = Open())
        {
            second.Record(Original, new MessageEvent(T0.AddSeconds(60), MessageEventKind.Attempt) { Attempt = 2, Result = "delivered", Reply = "250 2.0.0 ok" });
            second.Record(Original, new MessageEvent(T0.AddSeconds(60), MessageEventKind.Removed));
        }
        Assert.Equal(2, System.IO.Directory.GetFiles(Directory, "events-*.jsonl").Length);

        foreach (string query in new[] { Original.Value, Original.Value.ToLowerInvariant(), "<m1@example.org>", "m1@example.org" })
        {
            TraceResult found = MessageEventStore.Find(Directory, query);
            Assert.Equal([MessageEventKind.Received, MessageEventKind.Attempt, MessageEventKind.Attempt, MessageEventKind.Removed],
                found.Events.Select(e => e.Event.Kind));
            Assert.All(found.Events, e => Assert.Equal(Original, e.Id));
            Assert.Equal([1, 2], found.Events.Where(e => e.Event.Kind == MessageEventKind.Attempt).Select(e => e.Event.Attempt!.Value));
            Assert.Equal("192.0.2.7", found.Events[0].Event.Client);
            Assert.Equal(5, found.Lines);
        }
        Assert.Empty(MessageEventStore.Find(Directory, "<m1@example.org.evil>").Events);
        Assert.Empty(MessageEventStore.Find(Directory, "01L8T2XSAB002LTZ").Events);
    }

    [Fact]
    public async Task NotificationLinksBackToItsOriginalAndTheOriginalToItsNotification()
    {
        await using (MessageEventStore store = Open())
        {
            store.Record(Original, new MessageEvent(T0, MessageEventKind.Received) { MessageId = "<m2@example.org>" });
            store.Record(Original, new MessageEvent(T0.AddSeconds(2), MessageEventKind.Attempt) { Result = "failed" });
            store.Record(Original, new MessageEvent(T0.AddSeconds(3), MessageEventKind.DsnSent) { Related = Notice.Value });
            store.Record(Notice, new MessageEvent(T0.AddSeconds(3), MessageEventKind.Received) { Related = Original.Value, From = "<>" });
            store.Record(Notice, new MessageEvent(T0.AddSeconds(4), MessageEventKind.Attempt) { Result = "delivered" });
        }
        foreach (string query in new[] { Original.Value, Notice.Value, "<m2@example.org>" })
        {
            TraceResult found = MessageEventStore.Find(Directory, query);
            Assert.Equal([Original, Original, Original, Notice, Notice], found.Events.Select(e => e.Id));
        }
    }

    [Fact]
    public async Task TheStoreStaysWithinMaxSizeDroppingTheOldestSegmentsFirst()
    {
        const long maxSize = 1024 * 1024;
        await using (MessageEventStore store = Open(maxSize))
        {
            for (int i = 0; i < 20_000; i++)
            {
                var id = new QueueId("01L8T2XSAB" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture).Replace('0', 'A'));
                store.Record(id, new MessageEvent(T0.AddSeconds(i), MessageEventKind.Attempt) { Reply = new string('x', 200), Attempt = i });
                if (i % 1000 == 999) await store.FlushAsync(CancellationToken.None);
            }
            Assert.Equal(0, store.Dropped);
        }
        long total = System.IO.Directory.GetFiles(Directory).Sum(f => new FileInfo(f).Length);
        Assert.InRange(total, maxSize / 2, maxSize);
        TraceResult newest = MessageEventStore.Find(Directory, "01L8T2XSABA19999");
        TraceResult oldest = MessageEventStore.Find(Directory, "01L8T2XSABAAAAA1");
        Assert.Single(newest.Events);
        Assert.Empty(oldest.Events);
    }

    [Fact]
    public async Task SegmentsOlderThanTheRetentionAreDeletedAtStart()
    {
        await using (MessageEventStore store = Open())
        {
            store.Record(Original, new MessageEvent(T0, MessageEventKind.Received));
        }
        string old = Assert.Single(System.IO.Directory.GetFiles(Directory));
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddDays(-8));
        await using (MessageEventStore store = Open())
        {
            store.Record(Notice, new MessageEvent(T0, MessageEventKind.Received));
        }
        Assert.False(File.Exists(old));
        Assert.Empty(MessageEventStore.Find(Directory, Original.Value).Events);
        Assert.Single(MessageEventStore.Find(Directory, Notice.Value).Events);
    }

    [Fact]
    public void ATornLastLineIsSkipped()
    {
        System.IO.Directory.CreateDirectory(Directory);
        string line = EventLine.Format(new TracedEvent(Original, new MessageEvent(T0, MessageEventKind.Received) { Helo = "client.test" }));
        File.WriteAllText(Path.Combine(Directory, "events-000000000001.jsonl"), line + "\n" + line[..20]);
        TraceResult found = MessageEventStore.Find(Directory, Original.Value);
        Assert.Equal("client.test", Assert.Single(found.Events).Event.Helo);
    }

    [Fact]
    public void ALineIsTheQueueIdThenTheEventsPropertiesInSnakeCase()
    {
        string line = EventLine.Format(new TracedEvent(Original, new MessageEvent(T0, MessageEventKind.Received)
        {
            Helo = "client.test",
            Recipients = ["a@example.org", "b@example.org"],
            Reply = "550 5.1.1 \"no\"\tsuch user",
        }));
        Assert.Equal("{\"id\":\"01L8T2XSAB002LTQ\",\"time\":\"2025-03-01T10:00:00+00:00\",\"kind\":\"received\",\"helo\":\"client.test\","
            + "\"recipients\":[\"a@example.org\",\"b@example.org\"],\"reply\":\"550 5.1.1 \\\"no\\\"\\tsuch user\"}", line);
        Assert.True(EventLine.TryParse(line, out TracedEvent? back));
        Assert.Equal((Original, "client.test", 2), (back.Id, back.Event.Helo, back.Event.Recipients!.Count));
    }
}
