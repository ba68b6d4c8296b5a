using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Postbote.Core;

namespace Postbote.Tracing;

/// <summary>
/// The event store behind <c>postbote trace</c>: append-only segment files <c>{data_dir}/trace/events-NNNNNNNNNNNN.jsonl</c>,
/// one JSON object per line (<see cref="EventLine"/>). <see cref="Record"/> only puts the event into a bounded
/// in-memory channel; one writer task takes what has gathered every <see cref="TraceOptions.FlushDelay"/> and appends it
/// with one write, so no SMTP reply waits for the trace. The files are not synced: a crash may lose the last batch of
/// events, never a message.
/// </summary>
/// <remarks>Bounded on disk: a segment is closed at <see cref="TraceOptions.SegmentSize"/> (a batch is at most half of
/// it); whole segments are deleted, oldest first, while the store is larger than <see cref="TraceOptions.MaxSize"/> or
/// their newest event is older than <see cref="TraceOptions.Retention"/> (checked at start, at each new segment, after
/// every quarter segment written and hourly). Bounded in memory: at most
/// <see cref="MaxPending"/> events wait; more are dropped and counted (<see cref="Dropped"/>), logged once a minute.
/// Survives restarts: a new run begins a new segment after the ones on disk.</remarks>
public sealed partial class MessageEventStore : IMessageEvents, IAsyncDisposable
{
    /// <summary>The most events that wait to be written: 100,000 (about 30 MB at the most).</summary>
    public const int MaxPending = 100_000;

    private const string Prefix = "events-";
    private const string Suffix = ".jsonl";

    private readonly TraceOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    // Unbounded with one reader: the writer drains it without taking the channel's lock per event (a bounded channel's
    // reads do, and sessions recording events spun on that lock). The bound is kept by counting.
    private readonly Channel<object> _pending = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private int _queued;
    private Task _writing = Task.CompletedTask;
    private FileStream? _segment;
    private long _segmentNumber;
    private long _dropped;
    private long _written;
    private DateTimeOffset _lastPrune;
    private DateTimeOffset _lastDropWarning;

    /// <summary>Creates the store; <see cref="Start"/> opens it.</summary>
    /// <param name="options">Directory and bounds.</param>
    /// <param name="logger">Where write failures and drops are logged.</param>
    /// <param name="timeProvider">The clock for retention; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The options are out of range (<see cref="TraceOptions.Validate"/>).</exception>
    public MessageEventStore(TraceOptions options, ILogger logger, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _options = options;
        _log = logger;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>How many events were dropped because the writer fell behind by <see cref="MaxPending"/> events or could
    /// not write.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Creates the directory, deletes what retention and size no longer allow, and starts the writer.</summary>
    /// <exception cref="IOException">The directory cannot be created.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public void Start()
    {
        Directory.CreateDirectory(_options.Directory);
        var segments = Segments(_options.Directory);
        _segmentNumber = segments.Count == 0 ? 0 : segments[^1].Number;
        Prune();
        _writing = Task.Run(WriteAsync);
    }

    /// <inheritdoc />
    public void Record(QueueId id, MessageEvent e)
    {
        if (Interlocked.Increment(ref _queued) > MaxPending || !_pending.Writer.TryWrite(new TracedEvent(id, e)))
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Waits until every event recorded before this call is written (for a lookup through the running server).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when written, or at once when the store is stopped.</returns>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _pending.Writer.WriteAsync(done, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return;
        }
        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes what is pending and closes the segment.</summary>
    /// <returns>A task that completes when closed.</returns>
    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _writing.ConfigureAwait(false);
        if (_segment is not null) await _segment.DisposeAsync().ConfigureAwait(false);
        _segment = null;
    }

    private async Task WriteAsync()
    {
        // Kept for the store's life: a batch is written as UTF-8 without a string or array per event or per batch.
        var batch = new ArrayBufferWriter<byte>(64 * 1024);
        var scratch = new ArrayBufferWriter<byte>(1024);
        using var json = new Utf8JsonWriter(scratch, EventLine.WriterOptions);
        var flushes = new List<TaskCompletionSource>();
        ChannelReader<object> reader = _pending.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Let a batch gather: one write for every event of the last moment.
            try
            {
                await Task.Delay(_options.FlushDelay, _time).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            int count = 0;
            while (reader.TryRead(out object? item))
            {
                if (item is TaskCompletionSource flush) flushes.Add(flush);
                else
                {
                    Interlocked.Decrement(ref _queued);
                    EventLine.Write((TracedEvent)item, json, scratch, batch);
                    batch.Write("\n"u8);
                    count++;
                }
                if (batch.WrittenCount > Math.Min(1024 * 1024, _options.SegmentSize / 2)) break;
            }
            if (count > 0) Append(batch.WrittenSpan, count);
            batch.ResetWrittenCount();
            foreach (TaskCompletionSource flush in flushes) flush.TrySetResult();
            flushes.Clear();
            if (_time.GetUtcNow() - _lastPrune > TimeSpan.FromHours(1)) Prune();
        }
    }

    private void Append(ReadOnlySpan<byte> batch, int count)
    {
        try
        {
            if (_segment is null || _segment.Length >= _options.SegmentSize)
            {
                _segment?.Dispose();
                _segmentNumber++;
                string path = Path.Combine(_options.Directory, string.Create(CultureInfo.InvariantCulture, $"{Prefix}{_segmentNumber:D12}{Suffix}"));
                _segment = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1);
                Prune();
            }
            _segment.Write(batch);
            _segment.Flush();
            _written += batch.Length;
            if (_written > _options.SegmentSize / 4)
            {
                // Over the size now and then, not only at a new segment: the store stays within max_size.
                _written = 0;
                Prune();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Interlocked.Add(ref _dropped, count);
            _segment?.Dispose();
            _segment = null;
            DropWarning(e.Message);
        }
        if (Interlocked.Read(ref _dropped) > 0) DropWarning(null);
    }

    private void DropWarning(string? error)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (now - _lastDropWarning < TimeSpan.FromMinutes(1)) return;
        _lastDropWarning = now;
        _log.LogWarning("trace store {Directory}: {Dropped} event(s) dropped so far{Error}", _options.Directory, Dropped,
            error is null ? "" : ": " + error);
    }

    /// <summary>Deletes segments, oldest first, while the store is over its size, and every closed segment last
    /// written before the retention time.</summary>
    private void Prune()
    {
        DateTimeOffset now = _time.GetUtcNow();
        _lastPrune = now;
        try
        {
            var segments = Segments(_options.Directory);
            long total = segments.Sum(s => s.Length);
            foreach (var s in segments)
            {
                if (s.Number == _segmentNumber && _segment is not null) break;
                bool expired = File.GetLastWriteTimeUtc(s.Path) < (now - _options.Retention).UtcDateTime;
                if (!expired && total <= _options.MaxSize) break;
                File.Delete(s.Path);
                total -= s.Length;
                _log.LogInformation("trace store: deleted {Segment} ({Reason})", Path.GetFileName(s.Path), expired ? "older than trace.retention" : "over trace.max_size");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogWarning("trace store {Directory}: cannot prune: {Error}", _options.Directory, e.Message);
        }
    }

    /// <summary>The segment files of a store directory, oldest first.</summary>
    private static List<(long Number, string Path, long Length)> Segments(string directory)
    {
        var list = new List<(long, string, long)>();
        if (!Directory.Exists(directory)) return list;
        foreach (string path in Directory.EnumerateFiles(directory, Prefix + "*" + Suffix))
        {
            string name = Path.GetFileName(path);
            if (long.TryParse(name.AsSpan(Prefix.Length, name.Length - Prefix.Length - Suffix.Length), NumberStyles.None,
                CultureInfo.InvariantCulture, out long n))
            {
                try
                {
                    list.Add((n, path, new FileInfo(path).Length));
                }
                catch (FileNotFoundException)
                {
                }
            }
        }
        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }
}
