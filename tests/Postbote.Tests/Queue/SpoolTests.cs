using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

public sealed class SpoolTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private SpoolOptions Options(SpoolSyncMode mode = SpoolSyncMode.SyncFs) => new()
    {
        Directory = _dir.Combine("spool"),
        CorruptDirectory = _dir.Combine("corrupt"),
        SyncMode = mode,
    };

    private Spool NewSpool(SpoolSyncMode mode = SpoolSyncMode.SyncFs) => new(Options(mode), NullLogger<Spool>.Instance);

    internal static Envelope EnvelopeFor(QueueId id, params string[] recipients) => new(
        id,
        new Mailbox("sender", "example.org"),
        recipients.Select(r => new Recipient(new Mailbox(r.Split('@')[0], r.Split('@')[1]), DsnNotify.Failure, "rfc822;" + r)).ToArray(),
        new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero),
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
    [InlineData(Spool.BufferSize, 1000)]
    [InlineData(Spool.BufferSize + 1, 1000)]
    [InlineData(200_000, 70_001)]
    [InlineData(300_000, 300_000)]
    public async Task CommitStoresTheBodyExactly(int length, int chunk)
    {
        using Spool spool = NewSpool();
        byte[] body = Body(length);
        QueueId id = await CommitAsync(spool, body, chunk);

        Assert.Equal(body, File.ReadAllBytes(spool.GetBodyPath(id)));
        Assert.True(spool.Committed.TryRead(out SpoolEntry? entry));
        Assert.Equal(id, entry.Envelope.Id);
        Assert.Equal((long)length, entry.Envelope.Size);
        Assert.False(entry.IsRecovered);
        Assert.Equal(spool.GetBodyPath(id), entry.BodyPath);
        Assert.Equal([new RecipientQueueState()], entry.States);
        byte[] env = File.ReadAllBytes(spool.GetEnvelopePath(id));
        Assert.True(EnvelopeFile.TryVerify(env, out _));
    }

    [Fact]
    public async Task CommittedMessageIsRecoveredByAFreshSpool()
    {
        byte[] body = Encoding.ASCII.GetBytes("Subject: hi\r\n\r\nHello\r\n");
        QueueId id;
        using (Spool first = NewSpool())
        {
            id = await CommitAsync(first, body, 4, "alice@example.com", "bob@example.net");
        }

        using Spool second = NewSpool();
        Assert.Equal(1, await second.RecoverAsync(CancellationToken.None));
        Assert.True(second.Committed.TryRead(out SpoolEntry? entry));
        Assert.True(entry.IsRecovered);
        Assert.Equal(id, entry.Envelope.Id);
        Assert.Equal(body.Length, entry.Envelope.Size);
        Assert.Equal(new Mailbox("sender", "example.org"), entry.Envelope.ReversePath);
        Assert.Equal(EnvelopeFor(id, "alice@example.com", "bob@example.net").Recipients, entry.Envelope.Recipients);
        Assert.Equal("192.0.2.7", entry.Envelope.ClientAddress);
        Assert.Equal(body, File.ReadAllBytes(entry.BodyPath));
        Assert.False(second.Committed.TryRead(out _));
    }

    [Fact]
    public async Task TornEnvelopeIsDroppedAsNeverCommitted()
    {
        QueueId id;
        string envPath, bodyPath;
        using (Spool first = NewSpool())
        {
            id = await CommitAsync(first, Body(100), 100);
            envPath = first.GetEnvelopePath(id);
            bodyPath = first.GetBodyPath(id);
        }
        byte[] env = File.ReadAllBytes(envPath);
        File.WriteAllBytes(envPath, env.AsSpan(0, env.Length - 5).ToArray());

        using Spool second = NewSpool();
        Assert.Equal(0, await second.RecoverAsync(CancellationToken.None));
        Assert.False(File.Exists(envPath));
        Assert.False(File.Exists(bodyPath));
        Assert.False(Directory.Exists(_dir.Combine("corrupt")));
        Assert.False(second.Committed.TryRead(out _));
    }

    [Fact]
    public async Task BodyWithoutEnvelopeAndStaleTempFilesAreRemoved()
    {
        string spoolDir = _dir.Combine("spool");
        Directory.CreateDirectory(spoolDir);
        string orphan = Path.Combine(spoolDir, "0123456789ABCDEF.eml");
        string tmp = Path.Combine(spoolDir, "0123456789ABCDEG.env.tmp");
        string foreign = Path.Combine(spoolDir, "README");
        File.WriteAllText(orphan, "body");
        File.WriteAllText(tmp, "half");
        File.WriteAllText(foreign, "keep");

        using Spool spool = NewSpool();
        Assert.Equal(0, await spool.RecoverAsync(CancellationToken.None));
        Assert.False(File.Exists(orphan));
        Assert.False(File.Exists(tmp));
        Assert.True(File.Exists(foreign));
    }

    [Fact]
    public async Task UnparsableEnvelopeWithValidTrailerMovesToCorrupt()
    {
        string spoolDir = _dir.Combine("spool");
        Directory.CreateDirectory(spoolDir);
        const string id = "0123456789ABCDEF";
        byte[] content = WithTrailer("{\"v\":1,\"id\":\"0123456789ABCDEF\",\"nonsense\":true}\n");
        File.WriteAllBytes(Path.Combine(spoolDir, id + ".env"), content);
        File.WriteAllText(Path.Combine(spoolDir, id + ".eml"), "body");

        using Spool spool = NewSpool();
        Assert.Equal(0, await spool.RecoverAsync(CancellationToken.None));
        Assert.False(File.Exists(Path.Combine(spoolDir, id + ".env")));
        Assert.False(File.Exists(Path.Combine(spoolDir, id + ".eml")));
        Assert.Equal(content, File.ReadAllBytes(_dir.Combine("corrupt", id + ".env")));
        Assert.Equal("body", File.ReadAllText(_dir.Combine("corrupt", id + ".eml")));

        // A second start finds nothing: never retried in a loop.
        using Spool again = NewSpool();
        Assert.Equal(0, await again.RecoverAsync(CancellationToken.None));
        Assert.True(File.Exists(_dir.Combine("corrupt", id + ".env")));
    }

    [Fact]
    public async Task ShortBodyMovesToCorrupt()
    {
        QueueId id;
        using (Spool first = NewSpool())
        {
            id = await CommitAsync(first, Body(1000), 1000);
            File.WriteAllBytes(first.GetBodyPath(id), Body(999));
        }
        using Spool second = NewSpool();
        Assert.Equal(0, await second.RecoverAsync(CancellationToken.None));
        Assert.Equal(999, new FileInfo(_dir.Combine("corrupt", id.Value + ".eml")).Length);
        Assert.True(File.Exists(_dir.Combine("corrupt", id.Value + ".env")));
        Assert.Empty(Directory.GetFiles(_dir.Combine("spool")));
    }

    [Fact]
    public async Task MissingBodyMovesToCorrupt()
    {
        QueueId id;
        using (Spool first = NewSpool())
        {
            id = await CommitAsync(first, Body(10), 10);
            File.Delete(first.GetBodyPath(id));
        }
        using Spool second = NewSpool();
        Assert.Equal(0, await second.RecoverAsync(CancellationToken.None));
        Assert.True(File.Exists(_dir.Combine("corrupt", id.Value + ".env")));
        Assert.Empty(Directory.GetFiles(_dir.Combine("spool")));
    }

    [Theory]
    [InlineData(SpoolSyncMode.SyncFs)]
    [InlineData(SpoolSyncMode.FsyncEachFile)]
    public async Task GroupCommitOf200ConcurrentCommits(SpoolSyncMode mode)
    {
        using Spool spool = NewSpool(mode);
        byte[] body = Body(3000);
        // 200 sessions have their bodies written, then all commit at once.
        var writers = new IMessageWriter[200];
        var ids = new QueueId[200];
        for (int i = 0; i < writers.Length; i++)
        {
            ids[i] = QueueId.New(DateTimeOffset.UtcNow);
            writers[i] = await spool.BeginAsync(ids[i], CancellationToken.None);
            await writers[i].WriteAsync(body, CancellationToken.None);
        }
        Task[] commits = new Task[writers.Length];
        for (int i = 0; i < writers.Length; i++)
        {
            commits[i] = writers[i].CommitAsync(EnvelopeFor(ids[i], "alice@example.com"), CancellationToken.None).AsTask();
        }
        await Task.WhenAll(commits);
        foreach (IMessageWriter w in writers) await w.DisposeAsync();

        Assert.Equal(200, ids.Distinct().Count());
        foreach (QueueId id in ids)
        {
            Assert.Equal(body, File.ReadAllBytes(spool.GetBodyPath(id)));
            Assert.True(EnvelopeFile.TryVerify(File.ReadAllBytes(spool.GetEnvelopePath(id)), out _));
        }
        Assert.Equal(400, Directory.GetFiles(spool.Directory).Length);
        // How many commits share a round depends on scheduling; the bench reports it (commits per sync). Here: at least one.
        Assert.True(spool.SyncRounds >= 1);
        var handed = new HashSet<QueueId>();
        while (spool.Committed.TryRead(out SpoolEntry? e)) handed.Add(e.Envelope.Id);
        Assert.Equal(ids.ToHashSet(), handed);
    }

    [Fact]
    public async Task DisposeWithoutCommitRemovesTheBody()
    {
        using Spool spool = NewSpool();
        QueueId id = QueueId.New(DateTimeOffset.UtcNow);
        IMessageWriter writer = await spool.BeginAsync(id, CancellationToken.None);
        await writer.WriteAsync(Body(Spool.BufferSize * 2), CancellationToken.None);
        Assert.True(File.Exists(spool.GetBodyPath(id)));
        Assert.Equal(Spool.BufferSize * 2L, writer.Length);
        await writer.DisposeAsync();
        Assert.False(File.Exists(spool.GetBodyPath(id)));
        Assert.False(File.Exists(spool.GetEnvelopePath(id)));
        Assert.False(spool.Committed.TryRead(out _));
    }

    [Fact]
    public async Task WriterRefusesUseAfterCommit()
    {
        using Spool spool = NewSpool();
        QueueId id = QueueId.New(DateTimeOffset.UtcNow);
        await using IMessageWriter writer = await spool.BeginAsync(id, CancellationToken.None);
        await writer.WriteAsync("x"u8.ToArray(), CancellationToken.None);
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await writer.CommitAsync(EnvelopeFor(new QueueId("0000000000000000"), "a@b.example"), CancellationToken.None));
        await writer.CommitAsync(EnvelopeFor(id, "a@b.example"), CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await writer.WriteAsync("y"u8.ToArray(), CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await writer.CommitAsync(EnvelopeFor(id, "a@b.example"), CancellationToken.None));
        Assert.Equal("x", File.ReadAllText(spool.GetBodyPath(id)));
    }

    [Fact]
    public async Task SaveRewritesTheEnvelopeAtomicallyThenRemovesWhenFinal()
    {
        using Spool spool = NewSpool();
        QueueId id = await CommitAsync(spool, Body(10), 10, "a@local.example", "b@remote.example");
        Assert.True(spool.Committed.TryRead(out SpoolEntry? entry));

        var at = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        SpoolEntry partly = entry with
        {
            Envelope = entry.Envelope with
            {
                Recipients = [entry.Envelope.Recipients[0] with { Status = DeliveryStatus.Delivered },
                    entry.Envelope.Recipients[1] with { Status = DeliveryStatus.Deferred }],
            },
            States = [new RecipientQueueState(1, null, "250 2.0.0 delivered to maildir"),
                new RecipientQueueState(1, at, "451 4.3.0 relaying not available yet")],
        };
        Assert.False(await spool.SaveAsync(partly, CancellationToken.None));
        Assert.False(File.Exists(spool.GetEnvelopePath(id) + ".tmp"));

        SpoolEntry? read = spool.Read(id);
        Assert.NotNull(read);
        Assert.Equal(partly.Envelope.Recipients, read.Envelope.Recipients);
        Assert.Equal(partly.States, read.States);

        IReadOnlyList<QueueEntryInfo> list = NewSpool().List();
        QueueEntryInfo info = Assert.Single(list);
        Assert.Equal(id, info.Id);
        Assert.Equal(10L, info.Size);
        Assert.Equal("<sender@example.org>", info.ReversePath);
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero), info.ReceivedAt);
        Assert.Equal([DeliveryStatus.Delivered, DeliveryStatus.Deferred], info.Recipients.Select(r => r.Status));
        Assert.Equal(at, info.States[1].NextAttemptAt);

        SpoolEntry done = partly with
        {
            Envelope = partly.Envelope with
            {
                Recipients = [partly.Envelope.Recipients[0], partly.Envelope.Recipients[1] with { Status = DeliveryStatus.Failed }],
            },
        };
        Assert.True(await spool.SaveAsync(done, CancellationToken.None));
        Assert.Empty(Directory.GetFiles(spool.Directory));
        Assert.Empty(spool.List());
    }

    [Fact]
    public async Task ListSkipsAnEnvelopeBeingWritten()
    {
        using Spool spool = NewSpool();
        QueueId id = await CommitAsync(spool, Body(5), 5);
        File.WriteAllText(Path.Combine(spool.Directory, "0000000000000001.env"), "{\"v\":1,");
        QueueEntryInfo info = Assert.Single(spool.List());
        Assert.Equal(id, info.Id);
    }

    [Fact]
    public async Task RecoveryAfterTheFirstBeginIsRefused()
    {
        using Spool spool = NewSpool();
        await using IMessageWriter writer = await spool.BeginAsync(QueueId.New(DateTimeOffset.UtcNow), CancellationToken.None);
        await writer.WriteAsync("partial"u8.ToArray(), CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(() => spool.RecoverAsync(CancellationToken.None));
    }

    [Fact]
    public void ListOfAMissingSpoolIsEmpty() => Assert.Empty(NewSpool().List());

    private static byte[] WithTrailer(string text)
    {
        byte[] head = Encoding.UTF8.GetBytes(text);
        uint crc = Crc32C.Compute(head);
        return [.. head, .. Encoding.ASCII.GetBytes("#crc32c=" + crc.ToString("X8", System.Globalization.CultureInfo.InvariantCulture) + "\n")];
    }
}
