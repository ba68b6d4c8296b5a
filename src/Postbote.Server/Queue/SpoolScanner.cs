using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.IO;

namespace Postbote.Queue;

/// <summary>
/// Reads the spool's segments and tells what is queued: the recovery half of the segment log. It tells a torn tail
/// (the unfinished batch of a crash, never acknowledged) from damage (bytes that were durable and changed since), steps
/// over damage to every intact record after it, and copies damaged bytes into <c>corrupt/</c> before anything of them
/// can be deleted.
/// </summary>
/// <remarks>
/// <para>How much of a segment was durable is known from its seal (written when a segment is closed, or by recovery
/// for a segment a crash left open) or, for the segment the server was writing, from the durable mark
/// (<see cref="DurableMark"/>). Bad bytes before that point are damage, logged at error level. Bad bytes after it are
/// the unfinished batch of a crash and logged at information level, unless they hold a whole record whose header checks
/// out: that is copied aside too, since it cannot be told from a damaged record when the mark is not known (the mark is
/// not synced, so after a power loss it may lag).</para>
/// </remarks>
internal sealed class SpoolScanner(string directory, string corruptDirectory, ILogger logger)
{
    /// <summary>Segment file names: <c>seg-NNNNNNNNNNNN.log</c>.</summary>
    public const string SegmentPrefix = "seg-", SegmentSuffix = ".log", ExternalSuffix = ".eml";

    /// <summary>The spool directory.</summary>
    public string Directory => directory;

    /// <summary>Where a message's own body file lives.</summary>
    public string ExternalPath(QueueId id) => Path.Combine(directory, id.Value + ExternalSuffix);

    /// <summary>Where segment <paramref name="seq"/> lives.</summary>
    public string SegmentPath(long seq) => Path.Combine(directory, $"{SegmentPrefix}{seq:D12}{SegmentSuffix}");

    /// <summary>Reads every segment.</summary>
    /// <param name="forRecovery"><c>true</c> at start-up: log, set damaged bytes aside, mark entries recovered.</param>
    /// <param name="mark">The durable mark read at start-up (<see cref="DurableMark.None"/> when unknown).</param>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>What is queued and what was found damaged.</returns>
    public SpoolScan Scan(bool forRecovery, DurableMark mark, CancellationToken cancellationToken = default)
    {
        var scan = new SpoolScan();
        if (!System.IO.Directory.Exists(directory)) return scan;
        var suspects = new Dictionary<QueueId, (string Segment, string Reason, long Start, long Length)>();
        var regions = new List<DamagedRegion>();
        string[] segmentFiles = System.IO.Directory.EnumerateFiles(directory, SegmentPrefix + "*" + SegmentSuffix).Order(StringComparer.Ordinal).ToArray();
        foreach (string path in segmentFiles)
        {
            bool later = !ReferenceEquals(path, segmentFiles[^1]);
            string name = Path.GetFileName(path);
            if (!long.TryParse(name.AsSpan(SegmentPrefix.Length, name.Length - SegmentPrefix.Length - SegmentSuffix.Length), out long seq)) continue;
            scan.Segments.Add(seq);
            byte[] data;
            try
            {
                data = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (forRecovery) logger.LogError("Spool recovery: cannot read segment {File}: {Error}", name, e.Message);
                continue;
            }
            long? sealedAt = SealedLength(data);
            // A segment with a later one beside it was closed with a seal, or sealed by the recovery after a crash; one
            // that has none lost it to damage, and all of its bytes count as durable.
            long durable = sealedAt ?? (seq == mark.Segment ? mark.Length : later ? data.Length : 0);
            if (seq == mark.Segment && data.Length < mark.Length)
            {
                // Bytes that a sync made durable are gone: whatever records they held are lost, and so is the record of
                // any body file they pointed to, which recovery then keeps in corrupt/.
                scan.UnidentifiedDamage = true;
                if (forRecovery)
                {
                    logger.LogError("Spool recovery: segment {File} has {Length} bytes, but {Durable} were durable: acknowledged records are missing",
                        name, data.Length, mark.Length);
                }
            }
            long pos = 0, lastValid = -1;
            var spans = new List<(long Start, long End, bool WholeRecord, bool Untrusted)>();
            // Records found by searching past an unreadable header could lie inside a message body that looks like a
            // record. They are trusted only once the chain of intact records from them reaches the end of the segment
            // (a record inside a body is always followed by the rest of that body); otherwise they are set aside.
            List<SpoolRecord>? provisional = null;
            while (pos < data.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                RecordStatus status = SpoolRecordFormat.TryRead(data, pos, out SpoolRecord rec);
                if (status == RecordStatus.Valid)
                {
                    if (provisional is not null)
                    {
                        provisional.Add(rec);
                    }
                    else
                    {
                        Apply(scan, suspects, data, path, seq, rec, forRecovery);
                        lastValid = pos;
                    }
                    pos = rec.End;
                    continue;
                }
                if (provisional is not null)
                {
                    foreach (SpoolRecord untrusted in provisional) spans.Add((untrusted.Start, untrusted.End, true, true));
                    provisional = null;
                }
                // A record whose header checks out is stepped over by its length; one whose end lies past the end of
                // the file is the unfinished tail, and nothing inside its claimed bytes is searched. Anything else runs
                // up to the next offset where a whole record checks out.
                long end = status switch
                {
                    RecordStatus.Damaged => rec.End,
                    RecordStatus.Truncated when rec.Length > 0 => data.Length,
                    _ => SpoolRecordFormat.FindNextValid(data, pos + 1),
                };
                if (end < 0) end = data.Length;
                else if (status is not RecordStatus.Damaged && end < data.Length) provisional = [];
                spans.Add((pos, end, status == RecordStatus.Damaged, false));
                pos = end;
            }
            if (provisional is not null)
            {
                foreach (SpoolRecord r in provisional)
                {
                    Apply(scan, suspects, data, path, seq, r, forRecovery);
                    lastValid = r.Start;
                }
            }
            long tailStart = data.Length;
            foreach (var (start, end, whole, untrusted) in spans.OrderBy(x => x.Start))
            {
                var region = new DamagedRegion(path, seq, start, data.AsSpan((int)start, (int)(end - start)).ToArray(), IdsIn(data, start, end))
                {
                    Untrusted = untrusted,
                };
                // Followed by an intact record, or before the durable point: damage. Otherwise the unfinished tail.
                region.Damage = untrusted || start < lastValid || start < durable;
                region.Doubtful = !region.Damage && whole && sealedAt is null;
                if (!region.Damage) tailStart = Math.Min(tailStart, start);
                if (region.Damage || region.Doubtful) regions.Add(region);
                else if (forRecovery && region.Bytes.AsSpan().ContainsAnyExcept((byte)0))
                {
                    logger.LogInformation("Spool recovery: segment {File} ends in an unfinished batch at byte {Offset} ({Length} bytes); it was never acknowledged",
                        name, start, region.Bytes.Length);
                }
            }
            if (sealedAt is null) scan.Unsealed.Add((seq, tailStart, data.Length));
        }
        for (int i = 1; i < scan.Segments.Count; i++)
        {
            // Segments are deleted oldest first, so a gap between two that remain means a segment went missing.
            if (scan.Segments[i] == scan.Segments[i - 1] + 1) continue;
            scan.UnidentifiedDamage = true;
            if (forRecovery)
            {
                logger.LogError("Spool recovery: segments {First} to {Last} are missing between two that remain: acknowledged records may be lost",
                    scan.Segments[i - 1] + 1, scan.Segments[i] - 1);
            }
        }
        foreach (var (id, (segment, reason, start, length)) in suspects)
        {
            scan.Corrupt.Add(id);
            if (!forRecovery) continue;
            byte[] bytes = ReadRange(segment, start, length);
            SetAside(id.Value, segment, start, bytes, reason, [id], LogLevel.Error);
            MoveBody(id);
        }
        foreach (DamagedRegion r in regions)
        {
            foreach (QueueId id in r.Ids) if (!scan.Live.ContainsKey(id)) scan.DamagedIds.Add(id);
            if (r.Ids.Count == 0) scan.UnidentifiedDamage = true;
            if (!forRecovery) continue;
            string what = r.Untrusted
                ? "an intact record found only by searching past an unreadable header, and not followed by intact records to the end of the segment: it may lie inside a message body, so it is kept aside, not delivered"
                : r.Damage
                ? "damaged bytes in the middle of the segment: every intact record after them is recovered"
                : "a record that does not check out after the last known durable point: damaged, or the unfinished batch of a crash";
            string name = r.Ids.Count == 1 && r.Ids[0] is var only && !scan.Live.ContainsKey(only)
                ? only.Value
                : $"{Path.GetFileNameWithoutExtension(r.Segment)}-at-{r.Offset:D12}";
            bool lost = r.Ids.Count == 0 || r.Ids.Any(id => !scan.Live.ContainsKey(id));
            SetAside(name, r.Segment, r.Offset, r.Bytes, what, r.Ids, r.Damage && lost ? LogLevel.Error : LogLevel.Warning);
            foreach (QueueId id in r.Ids) if (!scan.Live.ContainsKey(id)) MoveBody(id);
        }
        return scan;
    }

    private void Apply(SpoolScan scan, Dictionary<QueueId, (string, string, long, long)> suspects, byte[] data, string path, long seq,
        SpoolRecord rec, bool forRecovery)
    {
        if (rec.Kind == SpoolRecordFormat.KindSeal) return;
        QueueId id = rec.Id;
        if (rec.Kind == SpoolRecordFormat.KindDone)
        {
            scan.Live.Remove(id);
            suspects.Remove(id);
            return;
        }
        string bodyPath = rec.ExternalBody ? ExternalPath(id) : path;
        SpoolEntry entry;
        try
        {
            ReadOnlySpan<byte> json = data.AsSpan((int)rec.EnvelopeOffset, rec.EnvelopeLength);
            if (!EnvelopeFile.TryVerify(json, out ReadOnlySpan<byte> envelopeJson)) throw new FormatException("The envelope's own checksum does not match.");
            entry = EnvelopeFile.Parse(envelopeJson, bodyPath, isRecovered: forRecovery) with
            {
                BodyOffset = rec.ExternalBody ? 0 : rec.BodyOffset,
                BodyChecksum = rec.BodyChecksum,
            };
            if (entry.Envelope.Id != id) throw new FormatException("The envelope names queue ID " + entry.Envelope.Id + ".");
            if (entry.Envelope.Size != rec.BodyLength) throw new FormatException($"The envelope says {entry.Envelope.Size} bytes, the record holds {rec.BodyLength}.");
            if (rec.ExternalBody)
            {
                var info = new FileInfo(bodyPath);
                if (!info.Exists || info.Length < rec.BodyLength)
                    throw new FormatException(info.Exists ? $"The body file has {info.Length} bytes, the envelope says {rec.BodyLength}." : "The body file is missing.");
            }
        }
        catch (FormatException e)
        {
            scan.Live.Remove(id);
            suspects[id] = (path, e.Message, rec.Start, rec.Length);
            return;
        }
        suspects.Remove(id);
        scan.Live[id] = (entry, seq);
    }

    /// <summary>The acknowledged length a segment's seal records, when its last record is a seal.</summary>
    private static long? SealedLength(byte[] data)
    {
        int sealLength = SpoolRecordFormat.HeaderLength + 12;
        if (data.Length < sealLength) return null;
        return SpoolRecordFormat.TryRead(data, data.Length - sealLength, out SpoolRecord r) == RecordStatus.Valid && r.Kind == SpoolRecordFormat.KindSeal
            ? Math.Min(r.SealedLength, data.Length - sealLength)
            : null;
    }

    /// <summary>The queue IDs of the records whose headers still check out, stepping from <paramref name="pos"/> by their
    /// lengths.</summary>
    private static List<QueueId> IdsIn(byte[] data, long pos, long end)
    {
        var ids = new List<QueueId>();
        while (pos < end)
        {
            RecordStatus s = SpoolRecordFormat.TryRead(data, pos, out SpoolRecord r);
            if (s is RecordStatus.Invalid || r.Length <= 0) break;
            if (r.Kind != SpoolRecordFormat.KindSeal && !ids.Contains(r.Id)) ids.Add(r.Id);
            pos = r.End;
        }
        return ids;
    }

    private static byte[] ReadRange(string path, long start, long length)
    {
        using var f = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        byte[] b = new byte[length];
        int n = RandomAccess.Read(f, b, start);
        return n == b.Length ? b : b[..n];
    }

    /// <summary>Copies damaged bytes into <c>corrupt/NAME.rec</c> with a note <c>corrupt/NAME.txt</c>; once per name.</summary>
    private void SetAside(string name, string segment, long offset, byte[] bytes, string reason, IReadOnlyList<QueueId> ids, LogLevel level)
    {
        string copy = Path.Combine(corruptDirectory, name + ".rec");
        bool already = SameBytes(copy, bytes);
        if (!already && File.Exists(copy))
        {
            // Another damaged copy of the same message's record (each change of its state appended one).
            name = $"{name}-{Path.GetFileNameWithoutExtension(segment)}-at-{offset:D12}";
            copy = Path.Combine(corruptDirectory, name + ".rec");
            already = SameBytes(copy, bytes);
        }
        string note = Path.Combine(corruptDirectory, name + ".txt");
        logger.Log(already ? LogLevel.Information : level,
            "Spool recovery: {Segment} at byte {Offset}: {Length} bytes set aside as {Copy}{Again}: {Reason}; queue IDs: {Ids}",
            Path.GetFileName(segment), offset, bytes.Length, copy, already ? " (already there)" : "", reason,
            ids.Count == 0 ? "unreadable" : string.Join(' ', ids));
        if (already) return;
        try
        {
            System.IO.Directory.CreateDirectory(corruptDirectory);
            File.WriteAllBytes(copy, bytes);
            File.WriteAllText(note, $"segment {segment}\noffset {offset}\nlength {bytes.Length}\nqueue IDs {(ids.Count == 0 ? "unreadable" : string.Join(' ', ids))}\nreason {reason}\n");
            NativeMethods.FsyncDirectory(corruptDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("Spool recovery: cannot write {Copy}: {Error}", copy, e.Message);
        }
    }

    private static bool SameBytes(string path, byte[] bytes)
    {
        try
        {
            return File.Exists(path) && new FileInfo(path).Length == bytes.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Moves a message's own body file, if any, into <c>corrupt/</c>.</summary>
    public void MoveBody(QueueId id)
    {
        string external = ExternalPath(id);
        if (!File.Exists(external)) return;
        try
        {
            System.IO.Directory.CreateDirectory(corruptDirectory);
            File.Move(external, Path.Combine(corruptDirectory, id.Value + ExternalSuffix), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("Spool recovery: cannot move {File} into {CorruptDirectory}: {Error}", external, corruptDirectory, e.Message);
        }
    }

    private sealed class DamagedRegion(string segment, long seq, long offset, byte[] bytes, List<QueueId> ids)
    {
        public string Segment { get; } = segment;
        public long Sequence { get; } = seq;
        public long Offset { get; } = offset;
        public byte[] Bytes { get; } = bytes;
        public List<QueueId> Ids { get; } = ids;
        public bool Damage { get; set; }
        public bool Doubtful { get; set; }
        public bool Untrusted { get; init; }
    }
}
