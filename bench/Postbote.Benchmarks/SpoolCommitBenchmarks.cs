using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Benchmarks;

/// <summary>
/// One durable spool commit (RFC 5321 §6.1): <see cref="Spool.BeginAsync"/>, one 2 KiB body write, then
/// <see cref="IMessageWriter.CommitAsync"/>, which waits for the group sync round. With <see cref="Concurrency"/> 16
/// the commits run at once and share sync rounds; the figure is the time for all of them. Runs in a temporary
/// directory under /tmp; the committed entries are removed after each iteration so the directory stays small.
/// </summary>
[MemoryDiagnoser]
public class SpoolCommitBenchmarks
{
    private static readonly byte[] Body = CreateBody(2048);
    private string _root = "";
    private Spool? _spool;
    private Task? _drain;

    /// <summary>Concurrent commits per operation.</summary>
    [Params(1, 16)]
    public int Concurrency { get; set; }

    /// <summary>Creates the spool in a fresh temporary directory and a reader that consumes committed entries.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _root = Directory.CreateTempSubdirectory("pb-bench-spool-").FullName;
        _spool = new Spool(new SpoolOptions
        {
            Directory = Path.Combine(_root, "spool"),
            CorruptDirectory = Path.Combine(_root, "corrupt"),
        }, NullLogger<Spool>.Instance);
        Spool spool = _spool;
        _drain = Task.Run(async () =>
        {
            // Retire each committed message, as delivery does, so segments are recycled.
            await foreach (SpoolEntry e in spool.Committed.ReadAllAsync())
            {
                Envelope done = e.Envelope with { Recipients = e.Envelope.Recipients.Select(r => r with { Status = DeliveryStatus.Delivered }).ToArray() };
                await spool.SaveAsync(e with { Envelope = done }, CancellationToken.None);
            }
        });
    }

    /// <summary>Disposes the spool and removes the temporary directory.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _spool?.Dispose();
        _drain?.Wait(TimeSpan.FromSeconds(10));
        Directory.Delete(_root, recursive: true);
    }

    /// <summary><see cref="Concurrency"/> commits of a 2 KiB message, started together.</summary>
    /// <returns>A task that completes when all are durable.</returns>
    [Benchmark]
    public Task Commit()
    {
        if (Concurrency == 1) return CommitOne();
        var tasks = new Task[Concurrency];
        for (int i = 0; i < tasks.Length; i++) tasks[i] = CommitOne();
        return Task.WhenAll(tasks);
    }

    private async Task CommitOne()
    {
        Spool spool = _spool!;
        DateTimeOffset now = DateTimeOffset.UtcNow;
        QueueId id = QueueId.New(now);
        IMessageWriter writer = await spool.BeginAsync(id, CancellationToken.None).ConfigureAwait(false);
        await using (writer.ConfigureAwait(false))
        {
            await writer.WriteAsync(Body, CancellationToken.None).ConfigureAwait(false);
            var envelope = new Envelope(id, new Mailbox("bench-from", "example.com"),
                [new Recipient(new Mailbox("sink", "bench.test"))], now, ClientAddress: "127.0.0.1", HeloName: "bench");
            await writer.CommitAsync(envelope, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static byte[] CreateBody(int size)
    {
        byte[] b = new byte[size];
        for (int i = 0; i < b.Length; i++) b[i] = (i % 80) switch { 78 => (byte)'\r', 79 => (byte)'\n', _ => (byte)'x' };
        return b;
    }
}
