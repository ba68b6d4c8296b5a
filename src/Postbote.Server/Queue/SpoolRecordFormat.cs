using System.Buffers.Binary;
using System.Text;
using Postbote.Core;
using Postbote.IO;

namespace Postbote.Queue;

/// <summary>
/// The binary framing of one spool record, pure: no I/O, so it can be tested and fuzzed on its own.
/// </summary>
/// <remarks>
/// <para>Current format, <c>"PBR2"</c>, little-endian:</para>
/// <code>
/// 0  magic "PBR2"        4 bytes
/// 4  payload length      u32: every byte after these 8, up to and including the trailer
/// 8  kind                1 (1 message, 2 done, 3 seal)
/// 9  queue ID            16 ASCII (a seal has 16 '0')
/// 25 header CRC-32C      u32 over bytes 0..25: the framing can be trusted even when the rest is damaged
/// 29 message only:       envelope length (i32), envelope JSON, body mode (0 inline, 1 own file), body length (u64),
///                        body CRC-32C (u32, of the body bytes alone), inline body
///    seal only:          acknowledged length of the segment (u64)
///    trailer             CRC-32C (u32) of bytes 8 .. end-4
/// </code>
/// <para>The header checksum is what lets recovery tell a torn tail from damage in the middle: a damaged record whose
/// header still checks out is skipped by its length, and a damaged header is stepped over by searching for the next
/// offset where a whole record checks out. The older format <c>"PBR1"</c> (no header checksum, no body checksum, no
/// seal) is still read.</para>
/// </remarks>
internal static class SpoolRecordFormat
{
    /// <summary>Record kinds.</summary>
    public const byte KindMessage = 1, KindDone = 2, KindSeal = 3;

    /// <summary>Length of a queue ID in the record, in ASCII bytes.</summary>
    public const int IdLength = 16;

    /// <summary>Bytes before the kind-specific part in the current format.</summary>
    public const int HeaderLength = 29;

    /// <summary>Magic of the current format, "PBR2" read as a little-endian u32.</summary>
    public const uint Magic2 = 0x32524250;

    /// <summary>Magic of the first format, "PBR1".</summary>
    public const uint Magic1 = 0x31524250;

    private static readonly string SealId = new('0', IdLength);

    /// <summary>Length in bytes of the kind-specific fields of a message record before its envelope JSON.</summary>
    public const int EnvelopeLengthField = 4;

    /// <summary>Length of the fields between the envelope JSON and an inline body: mode, body length, body CRC.</summary>
    public const int BodyFields = 1 + 8 + 4;

    /// <summary>Writes the fixed header (magic, payload length, kind, queue ID, header CRC) into <paramref name="s"/>.</summary>
    /// <param name="s">At least <see cref="HeaderLength"/> bytes.</param>
    /// <param name="kind">The record kind.</param>
    /// <param name="id">The queue ID (ignored for a seal).</param>
    /// <param name="recordLength">The whole record's length in bytes, header and trailer included.</param>
    public static void WriteHeader(Span<byte> s, byte kind, QueueId id, long recordLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(s, Magic2);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], checked((uint)(recordLength - 8)));
        s[8] = kind;
        Encoding.ASCII.GetBytes(kind == KindSeal ? SealId : id.Value, s.Slice(9, IdLength));
        BinaryPrimitives.WriteUInt32LittleEndian(s[25..], Crc32C.Compute(s[..25]));
    }

    /// <summary>Builds a whole seal record: the segment was closed, and everything before <paramref name="acknowledged"/>
    /// was durable.</summary>
    /// <param name="acknowledged">The segment length in bytes that was made durable before the seal.</param>
    /// <returns>The record bytes.</returns>
    public static byte[] Seal(long acknowledged)
    {
        byte[] r = new byte[HeaderLength + 8 + 4];
        WriteHeader(r, KindSeal, default, r.Length);
        BinaryPrimitives.WriteInt64LittleEndian(r.AsSpan(HeaderLength), acknowledged);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(r.Length - 4), Crc32C.Compute(r.AsSpan(8, r.Length - 12)));
        return r;
    }

    /// <summary>Builds a whole "done" record, which retires a message.</summary>
    /// <param name="id">The queue ID.</param>
    /// <returns>The record bytes.</returns>
    public static byte[] Done(QueueId id)
    {
        byte[] r = new byte[HeaderLength + 4];
        WriteHeader(r, KindDone, id, r.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(r.Length - 4), Crc32C.Compute(r.AsSpan(8, r.Length - 12)));
        return r;
    }

    /// <summary>Reads the record that starts at <paramref name="pos"/>.</summary>
    /// <param name="data">The segment's bytes.</param>
    /// <param name="pos">The offset of the record, in bytes.</param>
    /// <param name="record">The record when the result is <see cref="RecordStatus.Valid"/>; for
    /// <see cref="RecordStatus.Damaged"/> only its start, length, kind and queue ID (when readable) are set.</param>
    /// <returns>What was found at <paramref name="pos"/>.</returns>
    public static RecordStatus TryRead(ReadOnlySpan<byte> data, long pos, out SpoolRecord record)
    {
        record = default;
        if (pos < 0 || pos >= data.Length) return RecordStatus.Invalid;
        ReadOnlySpan<byte> d = data[(int)pos..];
        if (d.Length < 8) return IsMagicPrefix(d) ? RecordStatus.Truncated : RecordStatus.Invalid;
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(d);
        long payload = BinaryPrimitives.ReadUInt32LittleEndian(d[4..]);
        if (magic == Magic2) return TryRead2(d, pos, payload, out record);
        if (magic == Magic1) return TryRead1(d, pos, payload, out record);
        return RecordStatus.Invalid;
    }

    private static RecordStatus TryRead2(ReadOnlySpan<byte> d, long pos, long payload, out SpoolRecord record)
    {
        record = default;
        if (d.Length < HeaderLength) return RecordStatus.Truncated;
        if (BinaryPrimitives.ReadUInt32LittleEndian(d[25..]) != Crc32C.Compute(d[..25])) return RecordStatus.Invalid;
        byte kind = d[8];
        if (payload < HeaderLength - 8 + 4 || kind is not (KindMessage or KindDone or KindSeal)) return RecordStatus.Invalid;
        QueueId id = default;
        if (kind != KindSeal)
        {
            string text = Encoding.ASCII.GetString(d.Slice(9, IdLength));
            if (!QueueId.IsValid(text)) return RecordStatus.Invalid;
            id = new QueueId(text);
        }
        long length = 8 + payload;
        record = new SpoolRecord { Start = pos, Length = length, Kind = kind, Id = id, Version = 2 };
        if (length > d.Length) return RecordStatus.Truncated;
        ReadOnlySpan<byte> r = d[..(int)length];
        if (BinaryPrimitives.ReadUInt32LittleEndian(r[^4..]) != Crc32C.Compute(r[8..^4])) return RecordStatus.Damaged;
        int at = HeaderLength;
        switch (kind)
        {
            case KindDone:
                return r.Length == HeaderLength + 4 ? RecordStatus.Valid : RecordStatus.Damaged;
            case KindSeal:
                if (r.Length != HeaderLength + 12) return RecordStatus.Damaged;
                record = record with { SealedLength = BinaryPrimitives.ReadInt64LittleEndian(r[at..]) };
                return RecordStatus.Valid;
        }
        if (r.Length < at + EnvelopeLengthField + BodyFields + 4) return RecordStatus.Damaged;
        int envLength = BinaryPrimitives.ReadInt32LittleEndian(r[at..]);
        at += EnvelopeLengthField;
        if (envLength < 0 || at + envLength + BodyFields > r.Length - 4) return RecordStatus.Damaged;
        int envStart = at;
        at += envLength;
        byte mode = r[at++];
        long bodyLength = BinaryPrimitives.ReadInt64LittleEndian(r[at..]);
        at += 8;
        uint bodyCrc = BinaryPrimitives.ReadUInt32LittleEndian(r[at..]);
        at += 4;
        if (mode > 1 || bodyLength < 0) return RecordStatus.Damaged;
        if (mode == 0 && at + bodyLength != r.Length - 4) return RecordStatus.Damaged;
        if (mode == 1 && at != r.Length - 4) return RecordStatus.Damaged;
        record = record with
        {
            EnvelopeOffset = pos + envStart,
            EnvelopeLength = envLength,
            ExternalBody = mode == 1,
            BodyLength = bodyLength,
            BodyOffset = pos + at,
            BodyChecksum = bodyCrc,
        };
        return RecordStatus.Valid;
    }

    /// <summary>The first format: no header checksum, so the framing is trusted only when the whole record checks out.</summary>
    private static RecordStatus TryRead1(ReadOnlySpan<byte> d, long pos, long payload, out SpoolRecord record)
    {
        record = default;
        if (payload < 1 + IdLength + 4) return RecordStatus.Invalid;
        if (8 + payload > d.Length) return RecordStatus.Truncated;
        ReadOnlySpan<byte> p = d.Slice(8, (int)payload);
        if (Crc32C.Compute(p[..^4]) != BinaryPrimitives.ReadUInt32LittleEndian(p[^4..])) return RecordStatus.Invalid;
        byte kind = p[0];
        string text = Encoding.ASCII.GetString(p.Slice(1, IdLength));
        if (!QueueId.IsValid(text) || kind is not (KindMessage or KindDone)) return RecordStatus.Invalid;
        record = new SpoolRecord { Start = pos, Length = 8 + payload, Kind = kind, Id = new QueueId(text), Version = 1 };
        if (kind == KindDone) return RecordStatus.Valid;
        int at = 1 + IdLength;
        if (at + 4 > p.Length - 4) return RecordStatus.Invalid;
        int envLength = BinaryPrimitives.ReadInt32LittleEndian(p[at..]);
        at += 4;
        if (envLength < 0 || at + envLength + 9 > p.Length - 4) return RecordStatus.Invalid;
        int envStart = at;
        at += envLength;
        byte mode = p[at++];
        long bodyLength = BinaryPrimitives.ReadInt64LittleEndian(p[at..]);
        at += 8;
        if (mode > 1 || (mode == 0 && at + bodyLength != p.Length - 4) || (mode == 1 && at != p.Length - 4)) return RecordStatus.Invalid;
        record = record with
        {
            EnvelopeOffset = pos + 8 + envStart,
            EnvelopeLength = envLength,
            ExternalBody = mode == 1,
            BodyLength = bodyLength,
            BodyOffset = pos + 8 + at,
        };
        return RecordStatus.Valid;
    }

    /// <summary>Finds the next offset at or after <paramref name="from"/> where a whole record checks out.</summary>
    /// <param name="data">The segment's bytes.</param>
    /// <param name="from">Where to start looking, in bytes.</param>
    /// <returns>The offset, or -1 when no valid record follows.</returns>
    public static long FindNextValid(ReadOnlySpan<byte> data, long from)
    {
        ReadOnlySpan<byte> prefix = "PBR"u8;
        long pos = Math.Max(0, from);
        while (pos < data.Length)
        {
            int hit = data[(int)pos..].IndexOf(prefix);
            if (hit < 0) return -1;
            pos += hit;
            if (TryRead(data, pos, out _) == RecordStatus.Valid) return pos;
            pos++;
        }
        return -1;
    }

    private static bool IsMagicPrefix(ReadOnlySpan<byte> d)
    {
        if (d.Length < 4) return "PBR2"u8.StartsWith(d) || "PBR1"u8.StartsWith(d);
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(d);
        return magic is Magic1 or Magic2;
    }
}
