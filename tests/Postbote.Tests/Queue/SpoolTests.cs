using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.IO;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

public sealed class SpoolTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private SpoolOptions Options(SyncMode mode = SyncMode.SyncFs) => new()
    {
        Directory = _dir.Combine("spool"),
        CorruptDirectory = _dir.Combine("corrupt"),
        SyncMode = mode,
    };

    private Spool NewSpool(SyncMode mode = SyncMode.SyncFs, long segmentSize = 64L * 1024 * 1024)
    {
        SpoolOptions o = Options(mode);
        o.SegmentSize = segmentSize;
        return new(o, NullLogger<Spool>.Instance);
    }

    private string[] Segments() => Directory.GetFiles(_dir.Combine("spool"), "seg-*.log").Order(StringComparer.Ordinal).ToArray();

    private static async Task<List<SpoolEntry>> RecoverAllAsync(Spool spool)
    {
        await spool.RecoverAsync(CancellationToken.None);
        var list = new List<SpoolEntry>();
        while (spool.Committed.TryRead(out SpoolEntry? e)) list.Add(e);
        return list;
    }

    /// <summary>When the test messages were received: the start of the test run, so that none of them is past the
    /// queue's lifetime or delay warning time unless a test moves a clock.</summary>
    internal static readonly DateTimeOffset ReceivedAt = new(DateTimeOffset.UtcNow.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);

    internal static Envelope EnvelopeFor(QueueId id, params string[] recipients) => new(
        id,
        new Mailbox("sender", "example.org"),
        recipients.Select(r => new Recipient(new Mailbox(r.Split('@')[0], r.Split('@')[1]), DsnNotify.Failure, "rfc822;" + r)).ToArray(),
        ReceivedAt,
        ClientAddress: "192.0.2.7",
        HeloName: "client.example.org");

    internal static async Task<QueueId> CommitAsync(Spool spool, byte[] body, int chunk, params string[] recipients)
    {
        QueueId id = QueueId.New(DateTimeOffset.UtcNow);
        await using IMessageWriter writer = await spool.BeginAsync(id, CancellationToken.None);
        for (int i = 0; i < body.Length; i += chunk)
        {
            await writer.WriteAsync(body.AsMemory(i, Math.Min(chunk, body.Length - i)), CancellationToken.None);
        }
        await writer.CommitAsync(EnvelopeFor(id, recipients.Length == 0 ? ["alice@example.com"] : recipients), CancellationToken.None);
        return id;
    }

    private static byte[] Body(int length)
    {
        var body = new byte[length];
        for (int i = 0; i < length; i++) body[i] = (byte)('a' + i % 26);
        return body;
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(17, 5)]
    [InlineData(Spool.InlineLimit, 1000)]
    [InlineData(Spool.InlineLimit + 1, 1000)]
    [InlineData(200_000, 70_001)]
    [InlineData(300_000, 300_000)]
    public async Task CommitStoresTheBodyExactly(int length, int chunk)
    {
        using Spool spool = NewSpool();
        byte[] body = Body(length);
        QueueId id = await CommitAsync(spool, body, chunk);
        SpoolEntry entry = spool.Read(id)!;
        Assert.Equal(body, Spool.ReadBody(entry));
        Assert.Equal(length, entry.Envelope.Size);
        // Up to the inline limit the body lives in the segment; past it in a file of its own.
        Assert.Equal(length > Spool.InlineLimit, entry.BodyPath.EndsWith(".eml", StringComparison.Ordinal));
        Assert.True(spool.Committed.TryRead(out SpoolEntry? handed));
        Assert.Equal(id, handed.Envelope.Id);
        Assert.False(handed.IsRecovered);
    }

    [Theory]
    [InlineData(2048)]
    [InlineData(Spool.InlineLimit + 5000)]
    public async Task RemovedRangesAreGoneAfterRecoveryAndTheChecksumHolds(int length)
    {
        byte[] body = Body(length);
        QueueId id = QueueId.New(DateTimeOffset.UtcNow);
        using (Spool first = NewSpool())
        {
            await using IMessageWriter writer = await first.BeginAsync(id, CancellationToken.None);
            for (int i = 0; i < body.Length; i += 1000)
                await writer.WriteAsync(body.AsMemory(i, Math.Min(1000, body.Length - i)), CancellationToken.None);
            // From the last range to the first, as the reception removes them.
            writer.RemoveRange(900, 100);
            writer.RemoveRange(10, 3);
            Assert.Equal(length - 103, writer.Length);
            await writer.CommitAsync(EnvelopeFor(id, "alice@example.com"), CancellationToken.None);
        }
        byte[] expected = [.. body[..10], .. body[13..900], .. body[1000..]];
        using Spool spool = NewSpool();
        List<SpoolEntry> recovered = await RecoverAllAsync(spool);
        Assert.Equal([id], recovered.Select(e => e.Envelope.Id));
        Assert.Equal(expected, Spool.ReadBody(recovered[0]));
        Assert.Equal(expected.Length, recovered[0].Envelope.Size);
    }

    /// <summary>A record that checks out but whose added header fields (<c>hdrs</c>) are cut short or broken (they go
    /// before the message as they are, so an empty line or a field without its CRLF would end the header section or run
    /// into the Received field): set aside, and the messages beside it with whole fields and the quarantine flag come
    /// back as they were.</summary>
    [Theory]
    [InlineData("Authentication-Results: mx.te")]
    [InlineData("Authentication-Results: mx.test;\r\n\tspf=pass\r")]
    [InlineData("Authentication-Results: mx.test; none\r\n\r\n")]
    [InlineData("\tspf=pass\r\n")]
    [InlineData("Authentication-Results mx.test; none\r\n")]
    [InlineData("Authentication-Results: mx.test;\n\tspf=pass\r\n")]
    [InlineData("")]
    public async Task TruncatedAddedHeaderFieldsAreSetAsideNotDelivered(string hdrs)
    {
        const string Whole = "Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=a@example.org\r\nX-Postbote-DNSBL: listed\r\n";
        QueueId before = QueueId.New(DateTimeOffset.UtcNow), bad = QueueId.New(DateTimeOffset.UtcNow), after = QueueId.New(DateTimeOffset.UtcNow);
        using (Spool first = NewSpool())
        {
            foreach (var (id, added, junk) in new[] { (before, Whole, true), (bad, hdrs, false), (after, Whole, false) })
            {
                await using IMessageWriter writer = await first.BeginAsync(id, CancellationToken.None);
                await writer.WriteAsync(Body(100), CancellationToken.None);
                await writer.CommitAsync(EnvelopeFor(id, "alice@example.com") with { AddedHeaders = added, Quarantine = junk }, CancellationToken.None);
            }
        }
        using Spool spool = NewSpool();
        List<SpoolEntry> recovered = await RecoverAllAsync(spool);
        Assert.Equal([before, after], recovered.Select(e => e.Envelope.Id));
        Assert.All(recovered, e => Assert.Equal(Whole, e.Envelope.AddedHeaders));
        Assert.Equal([true, false], recovered.Select(e => e.Envelope.Quarantine));
        Assert.Contains("hdrs", File.ReadAllText(_dir.Combine("corrupt", bad.Value + ".txt")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CommittedMessagesAreRecoveredByAFreshSpool()
    {
        byte[] small = Body(2048), big = Body(Spool.InlineLimit + 10);
        QueueId a, b;
        using (Spool first = NewSpool())
        {
            a = await CommitAsync(first, small, 100, "alice@example.com", "bob@example.com");
            b = await CommitAsync(first, big, 10_000);
        }
        using Spool spool = NewSpool();
        List<SpoolEntry> recovered = await RecoverAllAsync(spool);
        Assert.Equal([a, b], recovered.Select(e => e.Envelope.Id));
        Assert.All(recovered, e => Assert.True(e.IsRecovered));
        Assert.Equal(small, Spool.ReadBody(recovered[0]));
        Assert.Equal(big, Spool.ReadBody(recovered[1]));
        Envelope expected = EnvelopeFor(a, "alice@example.com", "bob@example.com") with { Size = small.Length };
        Assert.Equal(expected.Recipients, recovered[0].Envelope.Recipients);
        Assert.Equal(expected.ReversePath, recovered[0].Envelope.ReversePath);
        Assert.Equal(expected.ReceivedAt, recovered[0].Envelope.ReceivedAt);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(500)]
    public async Task TornTailIsDroppedAsNeverCommitted(int cut)
    {
        QueueId a, b;
        using (Spool first = NewSpool())
        {
            a = await CommitAsync(first, Body(1000), 1000);
            b = await CommitAsync(first, Body(1000), 1000);
        }
        // A crash in the middle of the last batch's write: its record is cut short.
        string segment = Assert.Single(Segments());
        using (var f = new FileStream(segment, FileMode.Open))
        {
            f.SetLength(f.Length - cut);
        }
        using Spool spool = NewSpool();
        List<SpoolEntry> recovered = await RecoverAllAsync(spool);
        Assert.Equal([a], recovered.Select(e => e.Envelope.Id));
        Assert.DoesNotContain(b, recovered.Select(e => e.Envelope.Id));
    }

    [Fact]
    public async Task UnparsableRecordWithValidChecksumIsSetAsideAndNeverRetried()
    {
        QueueId good;
        using (Spool first = NewSpool())
        {
            good = await CommitAsync(first, Body(10), 10);
        }
        // A record that checks out but whose envelope is not JSON, appended by hand.
        QueueId bad = QueueId.New(DateTimeOffset.UtcNow);
        byte[] env = "{not json"u8.ToArray();
        var p = new List<byte> { 1 };
        p.AddRange(Encoding.ASCII.GetBytes(bad.Value));
        p.AddRange(BitConverter.GetBytes(env.Length));
        p.AddRange(env);
        p.Add(0);
        p.AddRange(BitConverter.GetBytes(0L));
        p.AddRange(BitConverter.GetBytes(Crc32C.Compute(p.ToArray())));
        var record = new List<byte>();
        record.AddRange("PBR1"u8.ToArray());
        record.AddRange(BitConverter.GetBytes((uint)p.Count));
        record.AddRange(p);
        string segment = Assert.Single(Segments());
        using (var f = new FileStream(segment, FileMode.Append)) f.Write(record.ToArray());

        using (Spool spool = NewSpool())
        {
            Assert.Equal([good], (await RecoverAllAsync(spool)).Select(e => e.Envelope.Id));
            Assert.True(File.Exists(_dir.Combine("corrupt", bad.Value + ".txt")));
        }
        File.Delete(_dir.Combine("corrupt", bad.Value + ".txt"));
        using (Spool again = NewSpool())
        {
            Assert.Equal([good], (await RecoverAllAsync(again)).Select(e => e.Envelope.Id));
            Assert.False(File.Exists(_dir.Combine("corrupt", bad.Value + ".txt")));
        }
    }

    [Fact]
    public async Task MissingBodyFileIsSetAside()
    {
        QueueId id;
        using (Spool first = NewSpool())
        {
            id = await CommitAsync(first, Body(Spool.InlineLimit + 1), 100_000);
        }
        File.Delete(_dir.Combine("spool", id.Value + ".eml"));
        using Spool spool = NewSpool();
        Assert.Empty(await RecoverAllAsync(spool));
        Assert.True(File.Exists(_dir.Combine("corrupt", id.Value + ".txt")));
    }

    [Fact]
    public async Task BodyFileOfNoMessageIsRemoved()
    {
        Directory.CreateDirectory(_dir.Combine("spool"));
        string orphan = _dir.Combine("spool", QueueId.New(DateTimeOffset.UtcNow).Value + ".eml");
        File.WriteAllText(orphan, "never committed");
        using Spool spool = NewSpool();
        Assert.Empty(await RecoverAllAsync(spool));
        Assert.False(File.Exists(orphan));
    }

    [Fact]
    public async Task GroupCommitOf200ConcurrentCommits()
    {
        using Spool spool = NewSpool();
        byte[] body = Body(3000);
        var writers = new IMessageWriter[200];
        var ids = new QueueId[200];
        for (int i = 0; i < writers.Length; i++)
        {
            ids[i] = QueueId.New(DateTimeOffset.UtcNow);
            writers[i] = await spool.BeginAsync(ids[i], CancellationToken.None);
            await writers[i].WriteAsync(body, CancellationToken.None);
        }
        Task[] commits = writers.Select((w, i) => w.CommitAsync(EnvelopeFor(ids[i], "alice@example.com"), CancellationToken.None).AsTask()).ToArray();
        await Task.WhenAll(commits);
        foreach (IMessageWriter w in writers) await w.DisposeAsync();

        Assert.Equal(200, ids.Distinct().Count());
        foreach (QueueId id in ids) Assert.Equal(body, Spool.ReadBody(spool.Read(id)!));
        // One fdatasync per batch: how many commits share one depends on scheduling, never more rounds than commits.
        Assert.InRange(spool.SyncRounds, 1, 200);
        var handed = new HashSet<QueueId>();
        while (spool.Committed.TryRead(out SpoolEntry? e)) handed.Add(e.Envelope.Id);
        Assert.Equal(ids.ToHashSet(), handed);
    }

    [Fact]
    public async Task DisposeWithoutCommitRemovesTheBodyFile()
    {
        using Spool spool = NewSpool();
        QueueId id = QueueId.New(DateTimeOffset.UtcNow);
        IMessageWriter writer = await spool.BeginAsync(id, CancellationToken.None);
        await writer.WriteAsync(new byte[Spool.InlineLimit + 1], CancellationToken.None);
        Assert.True(File.Exists(spool.GetExternalBodyPath(id)));
        await writer.DisposeAsync();
        Assert.False(File.Exists(spool.GetExternalBodyPath(id)));
        Assert.Null(spool.Read(id));
    }

    [Fact]
    public async Task WriterRefusesUseAfterCommit()
    {
        using Spool spool = NewSpool();
        QueueId id = QueueId.New(DateTimeOffset.UtcNow);
        await using IMessageWriter writer = await spool.BeginAsync(id, CancellationToken.None);
        await writer.WriteAsync("x"u8.ToArray(), CancellationToken.None);
        await writer.CommitAsync(EnvelopeFor(id, "alice@example.com"), CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.WriteAsync("y"u8.ToArray(), CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.CommitAsync(EnvelopeFor(id, "alice@example.com"), CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task SaveKeepsTheNewStateDurablyThenRetiresWhenFinal()
    {
        byte[] body = Body(5000);
        QueueId id;
        using (Spool spool = NewSpool())
        {
            id = await CommitAsync(spool, body, 5000, "a@example.com", "b@example.com");
            SpoolEntry entry = spool.Read(id)!;
            Envelope partly = entry.Envelope with
            {
                Recipients = [entry.Envelope.Recipients[0] with { Status = DeliveryStatus.Delivered }, entry.Envelope.Recipients[1] with { Status = DeliveryStatus.Deferred }],
            };
            RecipientQueueState[] states = [new(1, null, "250 2.0.0 ok"), new(1, DateTimeOffset.UnixEpoch, "451 4.3.0 later")];
            Assert.False(await spool.SaveAsync(entry with { Envelope = partly, States = states }, CancellationToken.None));
            Assert.Equal(body, Spool.ReadBody(spool.Read(id)!));
        }
        using (Spool reopened = NewSpool())
        {
            SpoolEntry back = Assert.Single(await RecoverAllAsync(reopened));
            Assert.Equal([DeliveryStatus.Delivered, DeliveryStatus.Deferred], back.Envelope.Recipients.Select(r => r.Status));
            Assert.Equal("451 4.3.0 later", back.States[1].LastReply);
            Assert.Equal(body, Spool.ReadBody(back));
            Envelope done = back.Envelope with { Recipients = back.Envelope.Recipients.Select(r => r with { Status = DeliveryStatus.Delivered }).ToArray() };
            Assert.True(await reopened.SaveAsync(back with { Envelope = done }, CancellationToken.None));
        }
        using (Spool last = NewSpool())
        {
            Assert.Empty(await RecoverAllAsync(last));
            Assert.Empty(last.List());
        }
    }

    [Fact]
    public async Task SegmentsAreDeletedOldestFirstOnceNothingInThemIsLive()
    {
        using Spool spool = NewSpool(segmentSize: 64 * 1024);
        var ids = new List<QueueId>();
        for (int i = 0; i < 40; i++) ids.Add(await CommitAsync(spool, Body(10_000), 10_000));
        Assert.True(Segments().Length >= 5, $"{Segments().Length} segments");
        // Keep the first message live (deferred): it pins the oldest segment until it moves forward.
        SpoolEntry first = spool.Read(ids[0])!;
        foreach (QueueId id in ids.Skip(1))
        {
            SpoolEntry e = spool.Read(id)!;
            await spool.SaveAsync(e with { Envelope = e.Envelope with { Recipients = [e.Envelope.Recipients[0] with { Status = DeliveryStatus.Delivered }] } }, CancellationToken.None);
        }
        await CommitAsync(spool, Body(10), 10); // a batch after the "done" records
        Assert.True(Segments().Length >= 5, "the oldest segment holds a live message: nothing after it may go either");
        var deferred = first with { Envelope = first.Envelope with { Recipients = [first.Envelope.Recipients[0] with { Status = DeliveryStatus.Deferred }] } };
        await spool.SaveAsync(deferred, CancellationToken.None); // the full copy moves to the current segment
        await CommitAsync(spool, Body(10), 10);
        Assert.Single(Segments());
        Assert.Equal(Body(10_000), Spool.ReadBody(spool.Read(ids[0])!));
    }

    [Fact]
    public async Task RecoveryAfterTheFirstBeginIsRefused()
    {
        using Spool spool = NewSpool();
        await using IMessageWriter writer = await spool.BeginAsync(QueueId.New(DateTimeOffset.UtcNow), CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(() => spool.RecoverAsync(CancellationToken.None));
    }

    [Fact]
    public void ListOfAMissingSpoolIsEmpty() => Assert.Empty(NewSpool().List());
}
