using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// The durable queue. Committed messages are appended to a segment file (<c>seg-NNNNNNNNNNNN.log</c>) as checksummed
/// records — envelope and body together — by a single committer that writes every commit waiting at that moment with one
/// vectored write and makes them durable with one <c>fdatasync(2)</c> (group commit). Only then does each session's
/// <see cref="IMessageWriter.CommitAsync"/> return and the session answer 250 (RFC 5321 §6.1). Bodies larger than
/// <see cref="InlineLimit"/> are streamed to a file of their own and fsynced with the batch.
/// </summary>
/// <remarks>
/// <para>Record: <c>magic "PBR1" | payload length (u32) | kind (1: message, 2: done) | queue ID (16 ASCII) | for a
/// message: envelope length (u32), envelope JSON, body mode (0 inline, 1 own file), body length (u64), inline body |
/// CRC-32C of everything after the length</c>, little-endian.</para>
/// <para>A message's latest record (its commit, or the full copy written when its per-recipient state changes) says
/// where it is; a "done" record retires it. Recovery reads the segments in order and stops in each at the first record
/// that does not check out: that is the tail of a batch whose sync never completed, so nothing in it was acknowledged.
/// A record that checks out but does not parse is set aside in <c>corrupt/</c> and retired, never retried. Segments are
/// deleted oldest first once none of their messages is live, so a commit is never left behind after the "done" record
/// that retires it has gone.</para>
/// </remarks>
public sealed class Spool : IMessageSink, IDisposable
{
    /// <summary>The largest body kept in memory and written inline into the segment: 256 KiB.</summary>
    public const int InlineLimit = 256 * 1024;

    /// <summary>Compatibility name for the in-memory body limit, in bytes.</summary>
    public const int BufferSize = InlineLimit;

    private const uint Magic = 0x31524250; // "PBR1"
    private const byte KindMessage = 1, KindDone = 2;
    private const int IdLength = 16;
    private const string SegmentPrefix = "seg-", SegmentSuffix = ".log", ExternalSuffix = ".eml";

    private readonly string _directory;
    private readonly string _corruptDirectory;
    private readonly long _segmentSize;
    private readonly ILogger<Spool> _logger;
    private readonly Channel<SpoolEntry> _committed =
        Channel.CreateUnbounded<SpoolEntry>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly Channel<Op> _ops = Channel.CreateUnbounded<Op>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly object _gate = new();
    private readonly Dictionary<QueueId, Location> _index = new();
    private readonly SortedDictionary<long, Segment> _segments = new();
    private Segment? _current;
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
    }

    /// <summary>The spool directory.</summary>
    public string Directory => _directory;

    /// <summary>The configured sync mode. The spool itself always fdatasyncs its segment once per batch; the mode
    /// applies to the Maildir side, which shares it.</summary>
    public SpoolSyncMode SyncMode { get; }

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
    public string GetExternalBodyPath(QueueId id) => Path.Combine(_directory, id.Value + ExternalSuffix);

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
        foreach (var (entry, _) in Scan(forRecovery: false).Live.Values)
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
        return Scan(forRecovery: false).Live.TryGetValue(id, out var found) ? found.Entry : null;
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
    /// Records a message's new per-recipient state. When every recipient is final the message is retired (a "done"
    /// record; its own body file, if any, is removed once that is durable). Otherwise a full copy of the message with the
    /// new state is appended and made durable.
    /// </summary>
    /// <param name="entry">The entry with its updated envelope and states.</param>
    /// <param name="cancellationToken">Cancels waiting; the update may still be written.</param>
    /// <returns><c>true</c> when the message was retired.</returns>
    /// <exception cref="IOException">The update could not be made durable.</exception>
    public async Task<bool> SaveAsync(SpoolEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        EnsureStarted();
        bool final = entry.Envelope.Recipients.All(static r => r.Status is DeliveryStatus.Delivered or DeliveryStatus.Failed);
        if (final)
        {
            // Not awaited for durability: if the "done" record is lost in a crash, the message is delivered again and
            // the delivery agents recognise their earlier copies (recovered entries are checked).
            _ops.Writer.TryWrite(Op.Done(entry.Envelope.Id));
            return true;
        }
        byte[]? inline = null;
        if (!IsExternal(entry)) inline = ReadBody(entry);
        var op = Op.Message(entry.Envelope, entry.States, inline, IsExternal(entry) ? entry.BodyPath : null, null, recovered: entry.IsRecovered);
        _ops.Writer.TryWrite(op);
        await op.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return false;
    }

    private bool IsExternal(SpoolEntry entry) => entry.BodyPath.EndsWith(ExternalSuffix, StringComparison.Ordinal);

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
        }
    }

    internal async Task CommitAsync(SpoolWriter writer, Envelope envelope)
    {
        var states = new RecipientQueueState[envelope.Recipients.Count];
        var op = Op.Message(envelope, states, null, writer.ExternalPath, writer, recovered: false);
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

    // ---- the committer --------------------------------------------------------------------------------------------

    private void EnsureStarted()
    {
        if (_committer is not null) return;
        lock (_gate)
        {
            if (_committer is not null) return;
            if (_disposed) throw new ObjectDisposedException(nameof(Spool));
            try
            {
                System.IO.Directory.CreateDirectory(_directory);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException(e.Message, e);
            }
            _committer = Task.Factory.StartNew(CommitLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }
    }

    private async Task CommitLoop()
    {
        var batch = new List<Op>(256);
        var buffers = new List<ReadOnlyMemory<byte>>(768);
        var pendingDeletes = new List<string>();
        while (await _ops.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < 4096 && _ops.Reader.TryRead(out Op? op)) batch.Add(op);
            try
            {
                WriteBatch(batch, buffers, pendingDeletes);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "spool write failed for a batch of {Count}", batch.Count);
                foreach (Op op in batch) op.Completion.TrySetException(e as IOException ?? new IOException(e.Message, e));
            }
            finally
            {
                foreach (Op op in batch) op.ReleaseHeader();
            }
        }
    }

    private void WriteBatch(List<Op> batch, List<ReadOnlyMemory<byte>> buffers, List<string> pendingDeletes)
    {
        Segment seg = CurrentSegment();
        buffers.Clear();
        long offset = seg.Length;
        bool needsSync = pendingDeletes.Count > 0;
        foreach (Op op in batch)
        {
            op.Encode();
            op.Offset = offset;
            buffers.Add(op.Header!.AsMemory(0, op.HeaderLength));
            if (op.Kind == KindMessage)
            {
                needsSync = true;
                if (op.InlineBody.Length > 0) buffers.Add(op.InlineBody);
                // A body in its own file is made durable with the batch (an update's file already is).
                if (op.ExternalFile is { } file) RandomAccess.FlushToDisk(file);
            }
            buffers.Add(op.Trailer);
            offset += op.RecordLength;
        }
        RandomAccess.Write(seg.Handle!, buffers, seg.Length);
        if (needsSync)
        {
            NativeMethods.Fdatasync(seg.Handle!, seg.Path);
            Interlocked.Increment(ref _syncRounds);
            // Files of messages retired in an earlier batch: their "done" records are durable now.
            foreach (string path in pendingDeletes) TryDelete(path);
            pendingDeletes.Clear();
        }
        seg.Length = offset;

        var handed = new List<SpoolEntry>();
        lock (_gate)
        {
            foreach (Op op in batch)
            {
                if (op.Kind == KindDone)
                {
                    if (_index.Remove(op.Id, out Location? gone))
                    {
                        Release(gone.Segment);
                        if (gone.Entry.BodyPath.EndsWith(ExternalSuffix, StringComparison.Ordinal)) pendingDeletes.Add(gone.Entry.BodyPath);
                    }
                    continue;
                }
                string bodyPath = op.ExternalPath ?? seg.Path;
                long bodyOffset = op.ExternalPath is null ? op.Offset + op.BodyOffsetInRecord : 0;
                var entry = new SpoolEntry(op.Envelope!, op.States!, bodyPath, op.Recovered) { BodyOffset = bodyOffset };
                if (_index.Remove(op.Id, out Location? old)) Release(old.Segment);
                _index[op.Id] = new Location(seg.Sequence, entry);
                seg.Live++;
                if (op.Writer is not null) handed.Add(entry);
            }
            DeleteDeadSegments();
        }
        foreach (Op op in batch) op.Completion.TrySetResult();
        foreach (SpoolEntry e in handed) _committed.Writer.TryWrite(e);
        if (seg.Length >= _segmentSize) lock (_gate) _current = null;
    }

    private void Release(long sequence)
    {
        if (_segments.TryGetValue(sequence, out Segment? s)) s.Live--;
    }

    /// <summary>Deletes segments oldest first while the oldest holds no live message and is not the current one.</summary>
    private void DeleteDeadSegments()
    {
        while (_segments.Count > 0)
        {
            var (seq, s) = _segments.First();
            if (s.Live > 0 || ReferenceEquals(s, _current)) return;
            s.Handle?.Dispose();
            TryDelete(s.Path);
            _segments.Remove(seq);
        }
    }

    private Segment CurrentSegment()
    {
        lock (_gate)
        {
            if (_current is not null) return _current;
            long seq = _segments.Count == 0 ? 1 : _segments.Keys.Max() + 1;
            string path = Path.Combine(_directory, $"{SegmentPrefix}{seq:D12}{SegmentSuffix}");
            var seg = new Segment(seq, path)
            {
                Handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete),
            };
            NativeMethods.FsyncDirectory(_directory);
            _segments[seq] = seg;
            _current = seg;
            DeleteDeadSegments();
            return seg;
        }
    }

    // ---- recovery and scanning -----------------------------------------------------------------------------------

    private int Recover(CancellationToken cancellationToken)
    {
        lock (_gate) System.IO.Directory.CreateDirectory(_directory);
        ScanResult scan = Scan(forRecovery: true, cancellationToken);
        lock (_gate)
        {
            foreach (long seq in scan.Segments) _segments[seq] = new Segment(seq, SegmentPath(seq)) { Length = -1 };
            foreach (var (id, (entry, seq)) in scan.Live)
            {
                _index[id] = new Location(seq, entry);
                _segments[seq].Live++;
            }
            DeleteDeadSegments();
        }
        // Retire corrupt records for good, so the next start does not see them again.
        foreach (QueueId id in scan.Corrupt) _ops.Writer.TryWrite(Op.Done(id));
        var liveFiles = new HashSet<string>(scan.Live.Values.Select(v => v.Entry.BodyPath), StringComparer.Ordinal);
        foreach (string file in System.IO.Directory.EnumerateFiles(_directory, "*" + ExternalSuffix))
        {
            if (liveFiles.Contains(file)) continue;
            _logger.LogInformation("Spool recovery: removing body {File} that no live message needs", Path.GetFileName(file));
            TryDelete(file);
        }
        foreach (var (entry, _) in scan.Live.Values.OrderBy(v => v.Entry.Envelope.Id.Value, StringComparer.Ordinal))
            _committed.Writer.TryWrite(entry);
        if (scan.Live.Count > 0) _logger.LogInformation("Spool recovery: {Count} queued messages", scan.Live.Count);
        EnsureStarted();
        return scan.Live.Count;
    }

    private string SegmentPath(long seq) => Path.Combine(_directory, $"{SegmentPrefix}{seq:D12}{SegmentSuffix}");

    private sealed record ScanResult(Dictionary<QueueId, (SpoolEntry Entry, long Segment)> Live, List<long> Segments, List<QueueId> Corrupt);

    private ScanResult Scan(bool forRecovery, CancellationToken cancellationToken = default)
    {
        var live = new Dictionary<QueueId, (SpoolEntry, long)>();
        var segments = new List<long>();
        var corrupt = new List<QueueId>();
        var suspects = new Dictionary<QueueId, (string Segment, string Reason)>();
        if (!System.IO.Directory.Exists(_directory)) return new ScanResult(live, segments, corrupt);
        foreach (string path in System.IO.Directory.EnumerateFiles(_directory, SegmentPrefix + "*" + SegmentSuffix).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            if (!long.TryParse(name.AsSpan(SegmentPrefix.Length, name.Length - SegmentPrefix.Length - SegmentSuffix.Length), out long seq)) continue;
            segments.Add(seq);
            byte[] data;
            try
            {
                data = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (forRecovery) _logger.LogError("Spool recovery: cannot read segment {File}: {Error}", name, e.Message);
                continue;
            }
            long pos = 0;
            while (pos < data.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!TryReadRecord(data, pos, out byte kind, out QueueId id, out ReadOnlySpan<byte> json, out byte bodyMode,
                        out long bodyLength, out long bodyOffset, out long next))
                {
                    if (forRecovery && data.AsSpan((int)pos).ContainsAnyExcept((byte)0))
                        _logger.LogInformation("Spool recovery: segment {File} ends in an unfinished batch at byte {Offset}; nothing after it was acknowledged", name, pos);
                    break;
                }
                pos = next;
                if (kind == KindDone)
                {
                    live.Remove(id);
                    suspects.Remove(id);
                    continue;
                }
                string bodyPath = bodyMode == 1 ? GetExternalBodyPath(id) : path;
                SpoolEntry entry;
                try
                {
                    if (!EnvelopeFile.TryVerify(json, out ReadOnlySpan<byte> envelopeJson)) throw new FormatException("The envelope's own checksum does not match.");
                    entry = EnvelopeFile.Parse(envelopeJson, bodyPath, isRecovered: forRecovery) with { BodyOffset = bodyMode == 1 ? 0 : bodyOffset };
                    if (entry.Envelope.Id != id) throw new FormatException("The envelope names queue ID " + entry.Envelope.Id + ".");
                    if (entry.Envelope.Size != bodyLength) throw new FormatException($"The envelope says {entry.Envelope.Size} bytes, the record holds {bodyLength}.");
                    if (bodyMode == 1)
                    {
                        var info = new FileInfo(bodyPath);
                        if (!info.Exists || info.Length < bodyLength) throw new FormatException(info.Exists ? $"The body file has {info.Length} bytes, the envelope says {bodyLength}." : "The body file is missing.");
                    }
                }
                catch (FormatException e)
                {
                    live.Remove(id);
                    suspects[id] = (path, e.Message);
                    continue;
                }
                suspects.Remove(id);
                live[id] = (entry, seq);
            }
        }
        // Records that did not parse and that no later record retired or replaced: set aside once, then retired.
        foreach (var (id, (path, reason)) in suspects)
        {
            if (forRecovery) SetAside(id, path, reason);
            corrupt.Add(id);
        }
        return new ScanResult(live, segments, corrupt);
    }

    private void SetAside(QueueId id, string segmentPath, string reason)
    {
        _logger.LogWarning("{QueueId}: unreadable spool record in {Segment}, set aside in {CorruptDirectory} and not retried: {Reason}",
            id, Path.GetFileName(segmentPath), _corruptDirectory, reason);
        try
        {
            System.IO.Directory.CreateDirectory(_corruptDirectory);
            File.WriteAllText(Path.Combine(_corruptDirectory, id.Value + ".txt"),
                $"queue ID {id}\nsegment {segmentPath}\nreason {reason}\n");
            string external = GetExternalBodyPath(id);
            if (File.Exists(external)) File.Move(external, Path.Combine(_corruptDirectory, id.Value + ExternalSuffix), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogError(e, "{QueueId}: cannot write to {CorruptDirectory}", id, _corruptDirectory);
        }
    }

    private static bool TryReadRecord(byte[] data, long pos, out byte kind, out QueueId id, out ReadOnlySpan<byte> json,
        out byte bodyMode, out long bodyLength, out long bodyOffset, out long next)
    {
        kind = 0; id = default; json = default; bodyMode = 0; bodyLength = 0; bodyOffset = 0; next = pos;
        ReadOnlySpan<byte> d = data;
        if (pos + 8 > d.Length || BinaryPrimitives.ReadUInt32LittleEndian(d[(int)pos..]) != Magic) return false;
        long payload = BinaryPrimitives.ReadUInt32LittleEndian(d[(int)(pos + 4)..]);
        if (payload < 1 + IdLength + 4 || pos + 8 + payload > d.Length) return false;
        ReadOnlySpan<byte> p = d.Slice((int)(pos + 8), (int)payload);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(p[^4..]);
        if (Crc32C.Compute(p[..^4]) != crc) return false;
        kind = p[0];
        if (!QueueId.IsValid(Encoding.ASCII.GetString(p.Slice(1, IdLength)))) return false;
        id = new QueueId(Encoding.ASCII.GetString(p.Slice(1, IdLength)));
        next = pos + 8 + payload;
        if (kind == KindDone) return true;
        if (kind != KindMessage) return false;
        int at = 1 + IdLength;
        int envLength = BinaryPrimitives.ReadInt32LittleEndian(p[at..]);
        at += 4;
        if (envLength < 0 || at + envLength + 9 > p.Length - 4) return false;
        json = p.Slice(at, envLength);
        at += envLength;
        bodyMode = p[at++];
        bodyLength = BinaryPrimitives.ReadInt64LittleEndian(p[at..]);
        at += 8;
        bodyOffset = pos + 8 + at;
        if (bodyMode == 0 && at + bodyLength != p.Length - 4) return false;
        if (bodyMode == 1 && at != p.Length - 4) return false;
        return true;
    }

    // ---- types ----------------------------------------------------------------------------------------------------

    private sealed class Segment(long sequence, string path)
    {
        public long Sequence { get; } = sequence;
        public string Path { get; } = path;
        public SafeFileHandle? Handle { get; init; }
        public long Length { get; set; }
        public int Live { get; set; }
    }

    private sealed record Location(long Segment, SpoolEntry Entry);

    /// <summary>One record to append, with its completion.</summary>
    private sealed class Op
    {
        private Op(byte kind, QueueId id) { Kind = kind; Id = id; }

        public byte Kind { get; }
        public QueueId Id { get; }
        public Envelope? Envelope { get; private init; }
        public IReadOnlyList<RecipientQueueState>? States { get; private init; }
        public ReadOnlyMemory<byte> InlineBody { get; private init; }
        public string? ExternalPath { get; private init; }
        public SafeFileHandle? ExternalFile => Writer?.ExternalFile;
        public SpoolWriter? Writer { get; private init; }
        public bool Recovered { get; private init; }
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public byte[]? Header { get; private set; }
        public int HeaderLength { get; private set; }
        public byte[] Trailer { get; } = new byte[4];
        public long Offset { get; set; }
        public long RecordLength { get; private set; }
        public long BodyOffsetInRecord { get; private set; }

        public static Op Done(QueueId id) => new(KindDone, id);

        public static Op Message(Envelope envelope, IReadOnlyList<RecipientQueueState> states, byte[]? inline, string? externalPath,
            SpoolWriter? writer, bool recovered) => new(KindMessage, envelope.Id)
        {
            Envelope = envelope,
            States = states,
            InlineBody = writer is not null ? writer.InlineBody : inline ?? default,
            ExternalPath = externalPath,
            Writer = writer,
            Recovered = recovered,
        };

        /// <summary>Builds header and checksum (on the committer's thread, so the sessions' threads stay free).</summary>
        public void Encode()
        {
            using var json = new PooledBufferWriter(1024);
            if (Kind == KindMessage) EnvelopeFile.Write(json, Envelope!, States);
            int envLength = json.WrittenSpan.Length;
            int headerLength = 8 + 1 + IdLength + (Kind == KindMessage ? 4 + envLength + 1 + 8 : 0);
            byte[] h = ArrayPool<byte>.Shared.Rent(headerLength);
            Span<byte> s = h;
            long bodyLength = Kind == KindMessage ? (ExternalPath is null ? InlineBody.Length : Envelope!.Size) : 0;
            long inlineLength = Kind == KindMessage && ExternalPath is null ? InlineBody.Length : 0;
            long payload = headerLength - 8 + inlineLength + 4;
            BinaryPrimitives.WriteUInt32LittleEndian(s, Magic);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], checked((uint)payload));
            s[8] = Kind;
            Encoding.ASCII.GetBytes(Id.Value, s.Slice(9, IdLength));
            int at = 9 + IdLength;
            if (Kind == KindMessage)
            {
                BinaryPrimitives.WriteInt32LittleEndian(s[at..], envLength);
                at += 4;
                json.WrittenSpan.CopyTo(s[at..]);
                at += envLength;
                s[at++] = ExternalPath is null ? (byte)0 : (byte)1;
                BinaryPrimitives.WriteInt64LittleEndian(s[at..], bodyLength);
                at += 8;
            }
            BodyOffsetInRecord = at;
            uint crc = Crc32C.Append(0xFFFFFFFFu, s[8..at]);
            if (inlineLength > 0) crc = Crc32C.Append(crc, InlineBody.Span);
            BinaryPrimitives.WriteUInt32LittleEndian(Trailer, ~crc);
            Header = h;
            HeaderLength = at;
            RecordLength = at + inlineLength + 4;
        }

        public void ReleaseHeader()
        {
            if (Header is null) return;
            ArrayPool<byte>.Shared.Return(Header);
            Header = null;
        }
    }
}
