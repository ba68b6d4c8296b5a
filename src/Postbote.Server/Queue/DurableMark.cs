using System.Buffers.Binary;
using Postbote.IO;

namespace Postbote.Queue;

/// <summary>
/// The durable mark, <c>spool/durable</c>: the segment and length that the last completed sync made durable, written
/// (without a sync of its own) after every sync. Recovery uses it to know that bad bytes before it are damage, not the
/// unfinished batch of a crash.
/// </summary>
/// <param name="Segment">The segment's sequence number (0: none).</param>
/// <param name="Length">Bytes of that segment that were durable.</param>
internal readonly record struct DurableMark(long Segment, long Length)
{
    /// <summary>The file name inside the spool directory.</summary>
    public const string FileName = "durable";

    /// <summary>No mark known.</summary>
    public static DurableMark None => default;

    /// <summary>Encodes the mark: segment (i64), length (i64), CRC-32C (u32) of both.</summary>
    public void WriteTo(Span<byte> s)
    {
        BinaryPrimitives.WriteInt64LittleEndian(s, Segment);
        BinaryPrimitives.WriteInt64LittleEndian(s[8..], Length);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], Crc32C.Compute(s[..16]));
    }

    /// <summary>Reads the mark from the spool directory; <see cref="None"/> when missing or unreadable.</summary>
    public static DurableMark Read(string spoolDirectory)
    {
        try
        {
            byte[] b = File.ReadAllBytes(Path.Combine(spoolDirectory, FileName));
            if (b.Length < 20 || BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16)) != Crc32C.Compute(b.AsSpan(0, 16))) return None;
            return new DurableMark(BinaryPrimitives.ReadInt64LittleEndian(b), BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(8)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return None;
        }
    }
}
