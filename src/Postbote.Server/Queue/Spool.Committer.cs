using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;
using Postbote.IO;

namespace Postbote.Queue;

/// <summary>The group committer, the segment files and recovery.</summary>
public sealed partial class Spool
{
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
                _mark ??= File.OpenHandle(Path.Combine(_directory, DurableMark.FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite,
                    FileShare.ReadWrite | FileShare.Delete);
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
        var batch = new List<SpoolOp>(256);
        var buffers = new List<ReadOnlyMemory<byte>>(768);
        var pendingDeletes = new List<string>();
        while (await _ops.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < 4096 && _ops.Reader.TryRead(out SpoolOp? op)) batch.Add(op);
            try
            {
                WriteBatch(batch, buffers, pendingDeletes);
            }
            catch (Exception e)
            {
                _logger.LogError("Spool write failed for a batch of {Count} records: {Error}", batch.Count, e.Message);
                var failure = e as IOException ?? new IOException(e.Message, e);
                foreach (SpoolOp op in batch)
                {
                    // A "done" record is retried until it can be written: the message stays queued (and its segment on
                    // disk) until then, and nobody is told it was removed.
                    if (op.Kind == KindDone) _ = RetryLaterAsync(op);
                    else op.Completion.TrySetException(failure);
                }
            }
            finally
            {
                foreach (SpoolOp op in batch) op.ReleaseHeader();
            }
            // Body files of messages retired by the batch wait for a sync of their "done" records; when no batch follows
            // to bring one, it is made now, or the last retired body would stay on disk until the next message.
            if (pendingDeletes.Count > 0 && !_ops.Reader.TryPeek(out _)) SyncPendingDeletes(pendingDeletes);
        }
    }

    /// <summary>Makes the current segment durable, then deletes the body files whose "done" records it holds.</summary>
    private void SyncPendingDeletes(List<string> pendingDeletes)
    {
        Segment? seg;
        lock (_gate) seg = _current;
        if (seg?.Handle is null) return;
        try
        {
            NativeMethods.Fdatasync(seg.Handle, seg.Path);
        }
        catch (IOException e)
        {
            _logger.LogWarning("Spool: cannot sync {Segment}: {Error}; retired bodies are removed after the next batch", Path.GetFileName(seg.Path), e.Message);
            return;
        }
        Interlocked.Increment(ref _syncRounds);
        WriteMark(seg.Sequence, seg.Length);
        foreach (string path in pendingDeletes) TryDelete(path);
        pendingDeletes.Clear();
    }

    private async Task RetryLaterAsync(SpoolOp op)
    {
        op.Failures++;
        double ms = Math.Min(100 * Math.Pow(2, Math.Min(op.Failures - 1, 16)), MaxDoneRetryDelay.TotalMilliseconds);
        await Task.Delay(TimeSpan.FromMilliseconds(ms)).ConfigureAwait(false);
        if (!_ops.Writer.TryWrite(op)) op.Completion.TrySetException(new IOException("The spool closed before the message could be retired."));
    }

    private void WriteBatch(List<SpoolOp> batch, List<ReadOnlyMemory<byte>> buffers, List<string> pendingDeletes)
    {
        Segment seg = CurrentSegment();
        buffers.Clear();
        long offset = seg.Length;
        bool needsSync = pendingDeletes.Count > 0;
        try
        {
            foreach (SpoolOp op in batch)
            {
                op.Encode();
                op.Offset = offset;
                needsSync |= op.Durable;
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
            if (needsSync) NativeMethods.Fdatasync(seg.Handle!, seg.Path);
        }
        catch
        {
            // Nothing of a failed batch may stay: a later, shorter batch would leave its tail behind, and recovery would
            // find records that were answered with an error.
            try
            {
                RandomAccess.SetLength(seg.Handle!, seg.Length);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogError("Spool: cannot cut {Segment} back to {Length} bytes after a failed write: {Error}; starting a new segment",
                    Path.GetFileName(seg.Path), seg.Length, e.Message);
                lock (_gate) _current = null;
            }
            throw;
        }
        if (needsSync)
        {
            Interlocked.Increment(ref _syncRounds);
            WriteMark(seg.Sequence, offset);
            // Files of messages retired in an earlier batch: their "done" records are durable now.
            foreach (string path in pendingDeletes) TryDelete(path);
            pendingDeletes.Clear();
        }
        seg.Length = offset;

        var handed = new List<SpoolEntry>();
        lock (_gate)
        {
            foreach (SpoolOp op in batch)
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
                var entry = new SpoolEntry(op.Envelope!, op.States!, bodyPath, op.Recovered) { BodyOffset = bodyOffset, BodyChecksum = op.BodyChecksum };
                if (_index.Remove(op.Id, out Location? old)) Release(old.Segment);
                _index[op.Id] = new Location(seg.Sequence, entry);
                seg.Live++;
                if (op.Writer is not null) handed.Add(entry);
            }
            DeleteDeadSegments();
        }
        foreach (SpoolOp op in batch) op.Completion.TrySetResult();
        foreach (SpoolEntry e in handed) _committed.Writer.TryWrite(e);
        if (seg.Length >= _segmentSize) CloseSegment(seg);
    }

    /// <summary>Records how far the segment is durable; not synced (see <see cref="DurableMark"/>).</summary>
    private void WriteMark(long segment, long length)
    {
        if (_mark is null) return;
        try
        {
            new DurableMark(segment, length).WriteTo(_markBytes);
            RandomAccess.Write(_mark, _markBytes, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Without the mark, recovery falls back to judging a bad tail by its framing.
        }
    }

    /// <summary>Ends a full segment with a seal saying how much of it is durable, then starts the next one.</summary>
    private void CloseSegment(Segment seg)
    {
        try
        {
            byte[] seal = SpoolRecordFormat.Seal(seg.Length);
            RandomAccess.Write(seg.Handle!, seal, seg.Length);
            NativeMethods.Fdatasync(seg.Handle!, seg.Path);
            seg.Length += seal.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Spool: cannot seal {Segment}: {Error}", Path.GetFileName(seg.Path), e.Message);
        }
        lock (_gate) _current = null;
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
            long seq = _segments.Count == 0 ? Math.Max(1, _lastSequence + 1) : Math.Max(_segments.Keys.Max(), _lastSequence) + 1;
            string path = _scanner.SegmentPath(seq);
            var seg = new Segment(seq, path)
            {
                Handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete),
            };
            NativeMethods.FsyncDirectory(_directory);
            _segments[seq] = seg;
            _lastSequence = seq;
            _current = seg;
            DeleteDeadSegments();
            return seg;
        }
    }

    private int Recover(CancellationToken cancellationToken)
    {
        lock (_gate) System.IO.Directory.CreateDirectory(_directory);
        DurableMark mark = DurableMark.Read(_directory);
        SpoolScan scan = _scanner.Scan(forRecovery: true, mark, cancellationToken);
        lock (_gate)
        {
            _lastSequence = Math.Max(_lastSequence, mark.Segment);
            foreach (long seq in scan.Segments)
            {
                _segments[seq] = new Segment(seq, _scanner.SegmentPath(seq)) { Length = -1 };
                _lastSequence = Math.Max(_lastSequence, seq);
            }
            foreach (var (id, (entry, seq)) in scan.Live)
            {
                _index[id] = new Location(seq, entry);
                _segments[seq].Live++;
            }
            DeleteDeadSegments();
            // No recovered segment is written again, so seal each one that a crash left open: the next recovery then
            // knows which of its bytes were durable.
            foreach (var (seq, acknowledged, length) in scan.Unsealed)
            {
                if (_segments.TryGetValue(seq, out Segment? s)) SealRecovered(s.Path, acknowledged, length);
            }
        }
        // Retire corrupt records for good, so the next start does not see them again.
        foreach (QueueId id in scan.Corrupt) _ops.Writer.TryWrite(SpoolOp.Done(id));
        var liveFiles = new HashSet<string>(scan.Live.Values.Select(v => v.Entry.BodyPath), StringComparer.Ordinal);
        foreach (string file in System.IO.Directory.EnumerateFiles(_directory, "*" + ExternalSuffix))
        {
            if (liveFiles.Contains(file)) continue;
            string name = Path.GetFileNameWithoutExtension(file);
            if (scan.UnidentifiedDamage && QueueId.IsValid(name))
            {
                // It may belong to a record that was damaged beyond reading its queue ID: keep it.
                _logger.LogWarning("Spool recovery: body {File} of no readable record set aside in {CorruptDirectory}", Path.GetFileName(file), _corruptDirectory);
                _scanner.MoveBody(new QueueId(name));
                continue;
            }
            _logger.LogInformation("Spool recovery: removing body {File} that no live message needs", Path.GetFileName(file));
            TryDelete(file);
        }
        foreach (var (entry, _) in scan.Live.Values.OrderBy(v => v.Entry.Envelope.Id.Value, StringComparer.Ordinal))
            _committed.Writer.TryWrite(entry);
        if (scan.Live.Count > 0) _logger.LogInformation("Spool recovery: {Count} queued messages", scan.Live.Count);
        EnsureStarted();
        return scan.Live.Count;
    }

    private void SealRecovered(string path, long acknowledged, long length)
    {
        try
        {
            using SafeFileHandle h = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            RandomAccess.Write(h, SpoolRecordFormat.Seal(acknowledged), length);
            RandomAccess.FlushToDisk(h);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Spool recovery: cannot seal {Segment}: {Error}", Path.GetFileName(path), e.Message);
        }
    }

    private sealed class Segment(long sequence, string path)
    {
        public long Sequence { get; } = sequence;
        public string Path { get; } = path;
        public SafeFileHandle? Handle { get; init; }
        public long Length { get; set; }
        public int Live { get; set; }
    }

    private sealed record Location(long Segment, SpoolEntry Entry);
}
