using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;
using Postbote.IO;

namespace Postbote.Queue;

/// <summary>
/// The durable queue. Committed messages are appended to a segment file (<c>seg-NNNNNNNNNNNN.log</c>) as checksummed
/// records — envelope and body together — by a single committer that writes every commit waiting at that moment with one
/// vectored write and makes them durable with one <c>fdatasync(2)</c> (group commit). Only then does each session's
/// <see cref="IMessageWriter.CommitAsync"/> return and the session answer 250 (RFC 5321 §6.1). Bodies larger than
/// <see cref="InlineLimit"/> are streamed to a file of their own and fsynced with the batch.
/// </summary>
/// <remarks>
/// <para>The record framing is <see cref="SpoolRecordFormat"/>; reading the segments back is <see cref="SpoolScanner"/>.
/// A message's latest record (its commit, or the full copy written when its per-recipient state changes) says where it
/// is; a "done" record retires it. Segments are deleted oldest first once none of their messages is live, so a commit
/// is never left behind after the "done" record that retires it has gone. A closed segment ends in a seal that records
/// how much of it was durable; the segment being written is covered by the durable mark (<c>spool/durable</c>), so
/// recovery can tell damage from the unfinished batch of a crash.</para>
/// </remarks>
public sealed partial class Spool : IMessageSink, IDisposable
{
    /// <summary>The largest body kept in memory and written inline into the segment: 256 KiB.</summary>
    public const int InlineLimit = 256 * 1024;

    /// <summary>Compatibility name for the in-memory body limit, in bytes.</summary>
    public const int BufferSize = InlineLimit;

    private const string ExternalSuffix = SpoolScanner.ExternalSuffix;
    private const byte KindMessage = SpoolRecordFormat.KindMessage, KindDone = SpoolRecordFormat.KindDone;
    private static readonly TimeSpan MaxDoneRetryDelay = TimeSpan.FromSeconds(5);

    private readonly string _directory;
    private readonly string _corruptDirectory;
    private readonly long _segmentSize;
    private readonly ILogger<Spool> _logger;
    private readonly SpoolScanner _scanner;
    private readonly Channel<SpoolEntry> _committed =
        Channel.CreateUnbounded<SpoolEntry>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly Channel<SpoolOp> _ops = Channel.CreateUnbounded<SpoolOp>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly object _gate = new();
    private readonly Dictionary<QueueId, Location> _index = new();
    private readonly SortedDictionary<long, Segment> _segments = new();
    private Segment? _current;
    private SafeFileHandle? _mark;
    private long _lastSequence;
    private readonly byte[] _markBytes = new byte[20];
    private Task? _committer;
    private int _begun;
    private int _recovering;
    private long _syncRounds;
    private bool _disposed;

    /// <summary>Creates the spool; nothing is read or written until <see cref="RecoverAsync"/> or the first message.</summary>
    /// <param name="options">Directories.</param>
    /// <param name="logger">Where recovery and failures are logged.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public Spool(SpoolOptions options, ILogger<Spool> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _directory = Path.GetFullPath(options.Directory);
        _corruptDirectory = Path.GetFullPath(options.CorruptDirectory);
        _logger = logger;
        SyncMode = options.SyncMode;
        _segmentSize = options.SegmentSize;
        _scanner = new SpoolScanner(_directory, _corruptDirectory, logger);
    }

    /// <summary>The spool directory.</summary>
    public string Directory => _directory;

    /// <summary>The configured sync mode. The spool itself always fdatasyncs its segment once per batch; the mode
    /// applies to the Maildir side, which shares it.</summary>
    public SyncMode SyncMode { get; }

    /// <summary>How many durable batches (one fdatasync each) have been written: commits per round is the group-commit
    /// factor.</summary>
    public long SyncRounds => Interlocked.Read(ref _syncRounds);

    /// <summary>Committed messages, in commit order, and recovered ones after <see cref="RecoverAsync"/>.</summary>
    public ChannelReader<SpoolEntry> Committed => _committed.Reader;

    /// <summary>Buffers for message bodies being received, shared by all writers.</summary>
    internal ArrayPool<byte> Buffers { get; } = ArrayPool<byte>.Create(InlineLimit, 512);

    /// <summary>Where a body that outgrew memory is written.</summary>
    /// <param name="id">The queue ID.</param>
    /// <returns><c>{Directory}/&lt;id&gt;.eml</c>.</returns>
    public string GetExternalBodyPath(QueueId id) => _scanner.ExternalPath(id);

    /// <inheritdoc />
    public ValueTask<IMessageWriter> BeginAsync(QueueId id, CancellationToken cancellationToken)
    {
        if (id.Value is null || !QueueId.IsValid(id.Value)) throw new ArgumentException("Not a queue ID.", nameof(id));
        cancellationToken.ThrowIfCancellationRequested();
        Volatile.Write(ref _begun, 1);
        EnsureStarted();
        return new ValueTask<IMessageWriter>(new SpoolWriter(this, id));
    }

    /// <summary>
    /// Reads every segment, hands each live message to <see cref="Committed"/> (marked recovered, so delivery checks for
    /// copies an earlier run already made), sets aside corrupt records and removes what no live message needs.
    /// </summary>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>The number of live messages recovered.</returns>
    /// <exception cref="InvalidOperationException">A message was already begun, or recovery already ran.</exception>
    public Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _begun) != 0) throw new InvalidOperationException("Recovery must run before the first message is begun.");
        if (Interlocked.Exchange(ref _recovering, 1) != 0) throw new InvalidOperationException("Recovery already ran.");
        return Task.Run(() => Recover(cancellationToken), cancellationToken);
    }

    /// <summary>Lists the live messages by reading the segments; safe from another process while a server runs.</summary>
    /// <returns>The messages in queue-ID (arrival) order.</returns>
    public IReadOnlyList<QueueEntryInfo> List()
    {
        var list = new List<QueueEntryInfo>();
        foreach (var (entry, _) in _scanner.Scan(forRecovery: false, DurableMark.None).Live.Values)
        {
            Envelope e = entry.Envelope;
            list.Add(new QueueEntryInfo(e.Id, e.ReceivedAt, e.Size, e.ReversePathText, e.Recipients, entry.States));
        }
        list.Sort(static (a, b) => string.CompareOrdinal(a.Id.Value, b.Id.Value));
        return list;
    }

    /// <summary>Reads one live message's entry.</summary>
    /// <param name="id">The queue ID.</param>
    /// <returns>The entry, or <c>null</c> when it is not queued.</returns>
    public SpoolEntry? Read(QueueId id)
    {
        lock (_gate)
        {
            if (_index.TryGetValue(id, out Location? l)) return l.Entry;
        }
        return _scanner.Scan(forRecovery: false, DurableMark.None).Live.TryGetValue(id, out var found) ? found.Entry : null;
    }

    /// <summary>Reads a live message's whole body into memory (for tools and tests).</summary>
    /// <param name="entry">The entry.</param>
    /// <returns>The body bytes.</returns>
    /// <exception cref="IOException">The body cannot be read.</exception>
    public static byte[] ReadBody(SpoolEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        using SafeFileHandle h = File.OpenHandle(entry.BodyPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        byte[] body = new byte[entry.Envelope.Size];
        int n = 0;
        while (n < body.Length)
        {
            int r = RandomAccess.Read(h, body.AsSpan(n), entry.BodyOffset + n);
            if (r == 0) throw new IOException("The spool body is shorter than its envelope says.");
            n += r;
        }
        return body;
    }

    /// <summary>
    /// Records a message's new per-recipient state. When every recipient is final the message is retired: a "done"
    /// record, retried until it can be written (a full disk), and its own body file, if any, removed once that is
    /// durable. Otherwise a full copy of the message with the new state is appended and made durable.
    /// </summary>
    /// <param name="entry">The entry with its updated envelope and states.</param>
    /// <param name="cancellationToken">Cancels waiting; the update may still be written.</param>
    /// <returns><c>true</c> once the message is retired (its "done" record written), <c>false</c> when the update is
    /// durable and recipients remain.</returns>
    /// <exception cref="IOException">The update could not be made durable, or the spool closed before a "done" record
    /// could be written (the message is then delivered again after the next start, and the agents recognise their
    /// earlier copies).</exception>
    public async Task<bool> SaveAsync(SpoolEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        EnsureStarted();
        if (IsFinal(entry))
        {
            // Not synced: if the "done" record is lost in a crash, the message is delivered again and the delivery
            // agents recognise their earlier copies (recovered entries are checked).
            var done = SpoolOp.Done(entry.Envelope.Id);
            if (!_ops.Writer.TryWrite(done)) throw new IOException("The spool is closed.");
            await done.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        byte[]? inline = null;
        uint? checksum = entry.BodyChecksum;
        if (!HasOwnBodyFile(entry)) inline = ReadBody(entry);
        else checksum ??= ComputeBodyChecksum(entry);
        var op = SpoolOp.Message(entry.Envelope, entry.States, inline, HasOwnBodyFile(entry) ? entry.BodyPath : null, checksum, null, recovered: entry.IsRecovered);
        if (!_ops.Writer.TryWrite(op)) throw new IOException("The spool is closed.");
        await op.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Retires a message whatever the state of its recipients (<c>postbote queue delete</c>): a "done" record, synced
    /// before this returns, so a deleted message is not delivered after a crash. Its own body file, if any, is removed
    /// after that.
    /// </summary>
    /// <param name="id">The queue ID.</param>
    /// <param name="cancellationToken">Cancels waiting; the record may still be written.</param>
    /// <returns>A task that completes when the record is durable.</returns>
    /// <exception cref="IOException">The spool closed before the record could be written.</exception>
    public async Task RemoveAsync(QueueId id, CancellationToken cancellationToken)
    {
        EnsureStarted();
        var done = SpoolOp.DurableDone(id);
        if (!_ops.Writer.TryWrite(done)) throw new IOException("The spool is closed.");
        await done.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether every recipient of the entry is final (delivered or failed), so that saving it retires it.</summary>
    /// <param name="entry">The entry.</param>
    /// <returns><c>true</c> when nothing is left to deliver.</returns>
    public static bool IsFinal(SpoolEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.Envelope.Recipients.All(static r => r.Status is DeliveryStatus.Delivered or DeliveryStatus.Failed);
    }

    /// <summary>
    /// Checks a message's body against the CRC-32C recorded when it was committed, reading it from disk. A body in a file
    /// of its own has no other protection; an inline body is also covered by its record's checksum at recovery.
    /// </summary>
    /// <param name="entry">The entry.</param>
    /// <param name="reason">Why it does not check out.</param>
    /// <returns><c>true</c> when the body checks out, or when the record predates body checksums; <c>false</c> when it
    /// is damaged: its checksum differs, its file is gone, or it is shorter than the envelope says.</returns>
    /// <exception cref="IOException">The body cannot be read now for another reason (no descriptor left, EMFILE; no
    /// memory; an I/O error): that says nothing about its bytes, so it is not damage, and the caller tries again
    /// later.</exception>
    public static bool VerifyBody(SpoolEntry entry, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(entry);
        reason = null;
        if (entry.BodyChecksum is not { } expected) return true;
        try
        {
            uint actual = ComputeBodyChecksum(entry);
            if (actual == expected) return true;
            reason = $"the body's CRC-32C is {actual:X8}, the spool recorded {expected:X8}";
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or ShortBodyException)
        {
            reason = e.Message;
        }
        return false;
    }

    private static uint ComputeBodyChecksum(SpoolEntry entry)
    {
        using SafeFileHandle h = File.OpenHandle(entry.BodyPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(128 * 1024);
        try
        {
            uint crc = 0xFFFFFFFFu;
            long done = 0, size = entry.Envelope.Size;
            while (done < size)
            {
                int r = RandomAccess.Read(h, buffer.AsSpan(0, (int)Math.Min(buffer.Length, size - done)), entry.BodyOffset + done);
                if (r == 0) throw new ShortBodyException($"The body in {entry.BodyPath} is {done} bytes, the envelope says {size}.");
                crc = Crc32C.Append(crc, buffer.AsSpan(0, r));
                done += r;
            }
            return ~crc;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Sets a queued message aside for good: its body and envelope are copied into <c>corrupt/</c> with a note saying
    /// why, then it is retired. Used when its body no longer checks out.
    /// </summary>
    /// <param name="entry">The entry.</param>
    /// <param name="reason">Why, for the note and the log.</param>
    /// <param name="cancellationToken">Cancels waiting for the "done" record.</param>
    /// <returns>A task that completes when the message is retired.</returns>
    /// <exception cref="IOException">The spool closed before the message could be retired.</exception>
    public async Task SetAsideAsync(SpoolEntry entry, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        QueueId id = entry.Envelope.Id;
        _logger.LogError("{QueueId}: set aside in {CorruptDirectory} and not delivered: {Reason}", id, _corruptDirectory, reason);
        try
        {
            System.IO.Directory.CreateDirectory(_corruptDirectory);
            using (var json = new PooledBufferWriter(1024))
            {
                EnvelopeFile.Write(json, entry.Envelope, entry.States);
                File.WriteAllBytes(Path.Combine(_corruptDirectory, id.Value + ".envelope"), json.WrittenSpan.ToArray());
            }
            File.WriteAllText(Path.Combine(_corruptDirectory, id.Value + ".txt"), $"queue ID {id}\nbody {entry.BodyPath}\nreason {reason}\n");
            if (HasOwnBodyFile(entry))
            {
                File.Copy(entry.BodyPath, Path.Combine(_corruptDirectory, id.Value + ExternalSuffix), overwrite: true);
            }
            else
            {
                File.WriteAllBytes(Path.Combine(_corruptDirectory, id.Value + ExternalSuffix), ReadBody(entry));
            }
            NativeMethods.FsyncDirectory(_corruptDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogError("{QueueId}: cannot copy it into {CorruptDirectory}: {Error}", id, _corruptDirectory, e.Message);
        }
        var done = SpoolOp.Done(id);
        if (!_ops.Writer.TryWrite(done)) throw new IOException("The spool is closed.");
        await done.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether the entry's body is in a file of its own (<c>&lt;id&gt;.eml</c>) rather than inline in a segment.</summary>
    /// <param name="entry">The entry.</param>
    /// <returns><c>true</c> for an own-file body.</returns>
    public static bool HasOwnBodyFile(SpoolEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.BodyPath.EndsWith(ExternalSuffix, StringComparison.Ordinal);
    }

    /// <summary>Stops the committer after the operations already queued and closes the segment.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _ops.Writer.TryComplete();
        try
        {
            _committer?.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // Logged by the committer.
        }
        _committed.Writer.TryComplete();
        lock (_gate)
        {
            foreach (Segment s in _segments.Values) s.Handle?.Dispose();
            _mark?.Dispose();
        }
    }

    internal async Task CommitAsync(SpoolWriter writer, Envelope envelope)
    {
        var states = new RecipientQueueState[envelope.Recipients.Count];
        var op = SpoolOp.Message(envelope, states, null, writer.ExternalPath, null, writer, recovered: false);
        if (!_ops.Writer.TryWrite(op))
        {
            if (writer.ExternalPath is not null) TryDelete(writer.ExternalPath);
            throw new IOException("The spool is closed.");
        }
        try
        {
            await op.Completion.Task.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (writer.ExternalPath is not null) TryDelete(writer.ExternalPath);
            _logger.LogError(e, "{QueueId}: commit failed", envelope.Id);
            throw e as IOException ?? new IOException("The commit failed: " + e.Message, e);
        }
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: recovery removes what is left.
        }
    }

    /// <summary>A body shorter than its envelope says: damage, unlike an I/O error while reading it.</summary>
    private sealed class ShortBodyException(string message) : IOException(message);
}
