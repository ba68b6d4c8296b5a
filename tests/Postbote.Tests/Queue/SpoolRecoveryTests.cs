using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

/// <summary>
/// Recovery over real spool files that were damaged after their messages were acknowledged: each damaged record loses
/// only itself (set aside in corrupt/ with its bytes), and every intact acknowledged message is delivered exactly once.
/// </summary>
public sealed class SpoolRecoveryTests : IDisposable
{
    private const int Messages = 60;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Spool NewSpool(ILogger<Spool>? logger = null) => new(new SpoolOptions
    {
        Directory = _dir.Combine("spool"),
        CorruptDirectory = _dir.Combine("corrupt"),
    }, logger ?? NullLogger<Spool>.Instance);

    private string Segment => Assert.Single(Directory.GetFiles(_dir.Combine("spool"), "seg-*.log"));

    private string CorruptFile(string name) => _dir.Combine("corrupt", name);

    private static byte[] BodyOf(int n, int length = 1500)
    {
        var b = new byte[length];
        for (int i = 0; i < b.Length; i++) b[i] = (byte)('A' + (i + n) % 26);
        return b;
    }

    /// <summary>Commits <see cref="Messages"/> messages, some one at a time and the last ten in one batch, and returns
    /// their IDs and bodies in commit order.</summary>
    private async Task<List<(QueueId Id, byte[] Body)>> FillAsync(int ownFileAt = -1)
    {
        var list = new List<(QueueId, byte[])>();
        using Spool spool = NewSpool();
        for (int i = 0; i < Messages - 10; i++)
        {
            byte[] body = i == ownFileAt ? BodyOf(i, Spool.InlineLimit + 5000) : BodyOf(i);
            list.Add((await SpoolTests.CommitAsync(spool, body, 4096), body));
        }
        // The last batch: ten commits in flight together share one sync.
        var last = Enumerable.Range(Messages - 10, 10).Select(async i =>
        {
            byte[] body = BodyOf(i);
            return (await SpoolTests.CommitAsync(spool, body, 4096), body);
        }).ToArray();
        list.AddRange(await Task.WhenAll(last));
        return list;
    }

    /// <summary>Where each record of the segment is, by queue ID.</summary>
    private Dictionary<QueueId, SpoolRecord> Records()
    {
        byte[] data = File.ReadAllBytes(Segment);
        var map = new Dictionary<QueueId, SpoolRecord>();
        long pos = 0;
        while (pos < data.Length && SpoolRecordFormat.TryRead(data, pos, out SpoolRecord r) == RecordStatus.Valid)
        {
            map[r.Id] = r;
            pos = r.End;
        }
        Assert.Equal(data.Length, pos);
        return map;
    }

    private void Damage(Action<byte[]> change)
    {
        byte[] data = File.ReadAllBytes(Segment);
        change(data);
        File.WriteAllBytes(Segment, data);
    }

    private sealed class CountingAgent : IDeliveryAgent
    {
        public ConcurrentDictionary<QueueId, int> Count { get; } = new();
        public ConcurrentDictionary<QueueId, byte[]> Bodies { get; } = new();

        public Task<IReadOnlyList<RecipientResult>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
        {
            byte[] body = new byte[request.Envelope.Size];
            using (var f = File.OpenHandle(request.BodyPath)) RandomAccess.Read(f, body, request.BodyOffset);
            Bodies[request.Envelope.Id] = body;
            Count.AddOrUpdate(request.Envelope.Id, 1, static (_, n) => n + 1);
            return Task.FromResult<IReadOnlyList<RecipientResult>>(request.Recipients.Select(_ => RecipientResult.Delivered("ok")).ToArray());
        }
    }

    private sealed class ListLogger : ILogger<Spool>
    {
        public ConcurrentQueue<(LogLevel Level, string Text)> Lines { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Lines.Enqueue((logLevel, formatter(state, exception)));
    }

    /// <summary>Starts a spool and scheduler on the damaged files, waits until nothing more is delivered, and checks that
    /// every message but <paramref name="lost"/> was delivered exactly once with its own bytes.</summary>
    private async Task<ListLogger> DeliverAllAsync(List<(QueueId Id, byte[] Body)> committed, params QueueId[] lost)
    {
        var logger = new ListLogger();
        var agent = new CountingAgent();
        using (Spool spool = NewSpool(logger))
        {
            await using var scheduler = new QueueScheduler(spool, agent, new QueueSchedulerOptions { MaxConcurrentDeliveries = 4 },
                NullLogger<QueueScheduler>.Instance);
            await scheduler.StartAsync(CancellationToken.None);
            int expected = committed.Count - lost.Length;
            for (int i = 0; i < 1000 && (agent.Count.Count < expected || spool.List().Count > 0); i++) await Task.Delay(10);
            await Task.Delay(100);
            Assert.Empty(spool.List());
        }
        foreach (var (id, body) in committed)
        {
            if (lost.Contains(id))
            {
                Assert.False(agent.Count.ContainsKey(id), $"{id} was damaged and must not be delivered");
                continue;
            }
            Assert.True(agent.Count.TryGetValue(id, out int n), $"{id} was acknowledged and intact but not delivered");
            Assert.Equal(1, n);
            Assert.Equal(body, agent.Bodies[id]);
        }
        Assert.Equal(committed.Count - lost.Length, agent.Count.Count);
        return logger;
    }

    [Theory]
    [InlineData("body")]
    [InlineData("envelope")]
    public async Task BitFlippedInAMiddleRecordLosesOnlyThatRecord(string where)
    {
        var committed = await FillAsync();
        QueueId victim = committed[20].Id;
        SpoolRecord r = Records()[victim];
        long at = where == "body" ? r.BodyOffset + 700 : r.EnvelopeOffset + 40;
        byte[] before = File.ReadAllBytes(Segment).AsSpan((int)r.Start, (int)r.Length).ToArray();
        before[at - r.Start] ^= 0x08;
        Damage(d => d[at] ^= 0x08);

        ListLogger log = await DeliverAllAsync(committed, victim);

        Assert.Equal(before, File.ReadAllBytes(CorruptFile(victim.Value + ".rec")));
        Assert.Contains(victim.Value, File.ReadAllText(CorruptFile(victim.Value + ".txt")));
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Error && l.Text.Contains(victim.Value, StringComparison.Ordinal));
    }

    [Fact]
    public async Task BitFlippedInAMiddleRecordHeaderIsSteppedOver()
    {
        var committed = await FillAsync();
        QueueId victim = committed[30].Id;
        SpoolRecord r = Records()[victim];
        Damage(d => d[r.Start + 5] ^= 0x01); // the payload length: the framing itself is damaged

        ListLogger log = await DeliverAllAsync(committed, victim);

        string copy = Assert.Single(Directory.GetFiles(_dir.Combine("corrupt"), "seg-*-at-*.rec"));
        Assert.Equal(r.Length, new FileInfo(copy).Length);
        Assert.EndsWith($"-at-{r.Start:D12}.rec", copy, StringComparison.Ordinal);
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Error);
    }

    [Fact]
    public async Task BitFlippedInTheLastBatchIsDamageNotATornTail()
    {
        var committed = await FillAsync();
        QueueId victim = committed[^1].Id;
        Dictionary<QueueId, SpoolRecord> records = Records();
        SpoolRecord last = records.Values.MaxBy(r => r.Start);
        victim = last.Id;
        Damage(d => d[last.BodyOffset + 10] ^= 0x80);

        ListLogger log = await DeliverAllAsync(committed, victim);

        Assert.True(File.Exists(CorruptFile(victim.Value + ".rec")));
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Error && l.Text.Contains(victim.Value, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ZeroedBlockLosesOnlyTheRecordsItCovers()
    {
        var committed = await FillAsync();
        Dictionary<QueueId, SpoolRecord> records = Records();
        const long blockStart = 8192, blockEnd = 8192 + 4096;
        QueueId[] covered = records.Values.Where(r => r.Start < blockEnd && r.End > blockStart).Select(r => r.Id).ToArray();
        Assert.InRange(covered.Length, 2, 5);
        Damage(d => Array.Clear(d, (int)blockStart, (int)(blockEnd - blockStart)));

        await DeliverAllAsync(committed, covered);

        long setAside = Directory.GetFiles(_dir.Combine("corrupt"), "*.rec").Sum(f => new FileInfo(f).Length);
        Assert.Equal(covered.Sum(id => records[id].Length), setAside);
    }

    [Fact]
    public async Task TornTailOfAnUnfinishedBatchIsNotSetAside()
    {
        var committed = await FillAsync();
        // A batch that was being written when the process died: past the durable mark, cut short.
        byte[] data = File.ReadAllBytes(Segment);
        SpoolRecord first = Records().Values.MinBy(r => r.Start);
        using (var f = new FileStream(Segment, FileMode.Append)) f.Write(data, (int)first.Start, (int)first.Length / 2);

        ListLogger log = await DeliverAllAsync(committed);

        Assert.False(Directory.Exists(_dir.Combine("corrupt")) && Directory.EnumerateFiles(_dir.Combine("corrupt")).Any());
        Assert.DoesNotContain(log.Lines, l => l.Level >= LogLevel.Warning);
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Information && l.Text.Contains("unfinished batch", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TruncatedOwnFileBodyLosesOnlyItsMessage()
    {
        var committed = await FillAsync(ownFileAt: 12);
        QueueId victim = committed[12].Id;
        string file = _dir.Combine("spool", victim.Value + ".eml");
        using (var f = new FileStream(file, FileMode.Open)) f.SetLength(f.Length - 100);

        await DeliverAllAsync(committed, victim);

        Assert.True(File.Exists(CorruptFile(victim.Value + ".rec")));
        Assert.Equal(Spool.InlineLimit + 5000 - 100, new FileInfo(CorruptFile(victim.Value + ".eml")).Length);
    }

    [Fact]
    public async Task BitFlippedInOwnFileBodyIsSetAsideNotDelivered()
    {
        var committed = await FillAsync(ownFileAt: 7);
        QueueId victim = committed[7].Id;
        string file = _dir.Combine("spool", victim.Value + ".eml");
        byte[] body = File.ReadAllBytes(file);
        body[100_000] ^= 0x02;
        File.WriteAllBytes(file, body);

        await DeliverAllAsync(committed, victim);

        Assert.Equal(body, File.ReadAllBytes(CorruptFile(victim.Value + ".eml")));
        Assert.Contains("CRC-32C", File.ReadAllText(CorruptFile(victim.Value + ".txt")));
    }

    [Fact]
    public async Task DamageIsReportedAgainAfterASecondRestartButNotCopiedTwice()
    {
        var committed = await FillAsync();
        SpoolRecord r = Records()[committed[5].Id];
        Damage(d => d[r.BodyOffset] ^= 0x10);
        // The first recovery with nothing delivered: the segment stays, sealed.
        using (Spool spool = NewSpool())
        {
            await spool.RecoverAsync(CancellationToken.None);
        }
        await DeliverAllAsync(committed, committed[5].Id);
        Assert.Single(Directory.GetFiles(_dir.Combine("corrupt"), "*.rec"));
    }

    [Fact]
    public async Task RandomDamageLosesOnlyTheRecordsItTouches()
    {
        var committed = await FillAsync();
        byte[] original = File.ReadAllBytes(Segment);
        Dictionary<QueueId, SpoolRecord> records = Records();
        var random = new Random(20261202);
        int setAside = 0;
        for (int round = 0; round < 300; round++)
        {
            byte[] data = (byte[])original.Clone();
            var touched = new HashSet<QueueId>();
            int flips = random.Next(1, 4);
            for (int f = 0; f < flips; f++)
            {
                int at = random.Next(data.Length);
                data[at] ^= (byte)(1 << random.Next(8));
                touched.UnionWith(records.Values.Where(r => r.Start <= at && at < r.End).Select(r => r.Id));
            }
            File.WriteAllBytes(Segment, data);
            var scanner = new SpoolScanner(_dir.Combine("spool"), _dir.Combine("corrupt-fuzz"), NullLogger.Instance);
            SpoolScan scan = scanner.Scan(forRecovery: false, new DurableMark(1, data.Length));
            foreach (var (id, _) in committed)
            {
                // A touched record is never delivered. An untouched one is delivered, or, when it lies between a damaged
                // header and further damage (where it cannot be told from a record inside a message body), set aside.
                if (touched.Contains(id)) Assert.False(scan.Live.ContainsKey(id), $"round {round}: damaged {id} is live");
                else Assert.True(scan.Live.ContainsKey(id) || scan.DamagedIds.Contains(id), $"round {round}: intact {id} is lost");
                if (!touched.Contains(id) && !scan.Live.ContainsKey(id)) setAside++;
            }
            Assert.All(scan.Live.Keys, id => Assert.Contains(id, records.Keys));
        }
        // Set aside though intact: only between two damaged places, so rare.
        Assert.InRange(setAside, 0, 300 * Messages / 20);
    }

    [Theory]
    [InlineData("torn tail")]
    [InlineData("damaged header")]
    public async Task ARecordCarriedInAMessageBodyIsNeverRecovered(string damage)
    {
        // A valid record, made by a spool elsewhere, sent as the body of an ordinary message.
        byte[] forged;
        QueueId forgedId;
        using (var other = new TempDirectory())
        {
            using (var elsewhere = new Spool(new SpoolOptions { Directory = other.Combine("spool"), CorruptDirectory = other.Combine("corrupt") }, NullLogger<Spool>.Instance))
            {
                forgedId = await SpoolTests.CommitAsync(elsewhere, BodyOf(99), 4096, "victim@example.com");
            }
            forged = File.ReadAllBytes(Assert.Single(Directory.GetFiles(other.Combine("spool"), "seg-*.log")));
        }
        QueueId carrier, after = default;
        using (Spool spool = NewSpool())
        {
            await SpoolTests.CommitAsync(spool, BodyOf(1), 4096);
            carrier = await SpoolTests.CommitAsync(spool, [.. BodyOf(2, 300), .. forged, .. BodyOf(3, 300)], 4096);
            if (damage == "damaged header") after = await SpoolTests.CommitAsync(spool, BodyOf(4), 4096);
        }
        SpoolRecord r = Records()[carrier];
        if (damage == "torn tail")
        {
            // The carrier's record is cut short after the forged record inside it, as a torn write would leave it.
            using var f = new FileStream(Segment, FileMode.Open);
            f.SetLength(r.End - 100);
        }
        else
        {
            // The carrier's header is damaged, so recovery must search for the next record and finds the forged one first.
            Damage(d => d[r.Start + 5] ^= 0x01);
        }

        using Spool recovered = NewSpool();
        await recovered.RecoverAsync(CancellationToken.None);
        var ids = new List<QueueId>();
        while (recovered.Committed.TryRead(out SpoolEntry? e)) ids.Add(e.Envelope.Id);
        Assert.DoesNotContain(forgedId, ids);
        Assert.DoesNotContain(carrier, ids);
        if (damage == "damaged header")
        {
            // The intact record after the carrier is still recovered; the forged one is set aside, not delivered.
            Assert.Equal(2, ids.Count);
            Assert.Contains(after, ids);
            Assert.True(File.Exists(CorruptFile(forgedId.Value + ".rec")));
        }
        else
        {
            Assert.Single(ids);
        }
    }

    [Fact]
    public async Task ASegmentShorterThanItsDurableMarkIsAnErrorAndKeepsTheBodyFiles()
    {
        var committed = await FillAsync(ownFileAt: Messages - 11);
        QueueId lost = committed[Messages - 11].Id;
        // Cut exactly at a record boundary: every record left checks out, but acknowledged ones are gone.
        SpoolRecord r = Records()[lost];
        using (var f = new FileStream(Segment, FileMode.Open)) f.SetLength(r.Start);

        var logger = new ListLogger();
        using (Spool spool = NewSpool(logger))
        {
            await spool.RecoverAsync(CancellationToken.None);
        }
        Assert.Contains(logger.Lines, l => l.Level == LogLevel.Error && l.Text.Contains("acknowledged records are missing", StringComparison.Ordinal));
        Assert.True(File.Exists(CorruptFile(lost.Value + ".eml")), "the body file of the lost record was deleted");
    }

    [Fact]
    public async Task DamagedSealOfAClosedSegmentIsDamageNotAnUnfinishedBatch()
    {
        var options = new SpoolOptions { Directory = _dir.Combine("spool"), CorruptDirectory = _dir.Combine("corrupt"), SegmentSize = 64 * 1024 };
        var ids = new List<QueueId>();
        using (var spool = new Spool(options, NullLogger<Spool>.Instance))
        {
            for (int i = 0; i < 60; i++) ids.Add(await SpoolTests.CommitAsync(spool, BodyOf(i), 4096));
        }
        string first = Directory.GetFiles(_dir.Combine("spool"), "seg-*.log").Order(StringComparer.Ordinal).First();
        byte[] data = File.ReadAllBytes(first);
        var records = new List<SpoolRecord>();
        for (long pos = 0; pos < data.Length && SpoolRecordFormat.TryRead(data, pos, out SpoolRecord r) == RecordStatus.Valid; pos = r.End) records.Add(r);
        Assert.Equal(SpoolRecordFormat.KindSeal, records[^1].Kind);
        SpoolRecord victim = records[^2];
        // Both the seal and the header of the last message record before it are hit.
        data[records[^1].Start + 5] ^= 0x01;
        data[victim.Start + 5] ^= 0x01;
        File.WriteAllBytes(first, data);

        var logger = new ListLogger();
        using var recovered = new Spool(options, logger);
        await recovered.RecoverAsync(CancellationToken.None);
        var live = new List<QueueId>();
        while (recovered.Committed.TryRead(out SpoolEntry? e)) live.Add(e.Envelope.Id);
        Assert.Equal(59, live.Count);
        Assert.DoesNotContain(victim.Id, live);
        Assert.Contains(logger.Lines, l => l.Level == LogLevel.Error && l.Text.Contains(Path.GetFileName(first), StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Lines, l => l.Text.Contains("never acknowledged", StringComparison.Ordinal));
        Assert.NotEmpty(Directory.GetFiles(_dir.Combine("corrupt"), "*.rec"));
    }
}
