using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;
using Postbote.IO;

namespace Postbote.Queue;

/// <summary>One record for the committer to append (a message commit, a state update, or a "done"), with its
/// completion.</summary>
internal sealed class SpoolOp
{
    private SpoolOp(byte kind, QueueId id)
    {
        Kind = kind;
        Id = id;
    }

    /// <summary>The record kind.</summary>
    public byte Kind { get; }

    /// <summary>The queue ID.</summary>
    public QueueId Id { get; }

    /// <summary>The envelope of a message record.</summary>
    public Envelope? Envelope { get; private init; }

    /// <summary>The per-recipient queue state of a message record.</summary>
    public IReadOnlyList<RecipientQueueState>? States { get; private init; }

    /// <summary>The body when it goes inline into the segment.</summary>
    public ReadOnlyMemory<byte> InlineBody { get; private init; }

    /// <summary>The body's own file, or <c>null</c> for an inline body.</summary>
    public string? ExternalPath { get; private init; }

    /// <summary>CRC-32C of an own-file body, computed while it was written (or carried from the earlier record).</summary>
    public uint? ExternalChecksum { get; private init; }

    /// <summary>The open own-file body of a fresh commit, for the batch's fsync.</summary>
    public SafeFileHandle? ExternalFile => Writer?.ExternalFile;

    /// <summary>The writer of a fresh commit; <c>null</c> for an update.</summary>
    public SpoolWriter? Writer { get; private init; }

    /// <summary>Whether the message was recovered at start-up.</summary>
    public bool Recovered { get; private init; }

    /// <summary>Completes when the record is written (and, for a message, durable).</summary>
    public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The encoded record up to the inline body (pooled; see <see cref="ReleaseHeader"/>).</summary>
    public byte[]? Header { get; private set; }

    /// <summary>Valid bytes in <see cref="Header"/>.</summary>
    public int HeaderLength { get; private set; }

    /// <summary>The record's CRC-32C trailer.</summary>
    public byte[] Trailer { get; } = new byte[4];

    /// <summary>Where the record was written in its segment, in bytes.</summary>
    public long Offset { get; set; }

    /// <summary>The whole record's length in bytes.</summary>
    public long RecordLength { get; private set; }

    /// <summary>Where an inline body starts inside the record, in bytes.</summary>
    public long BodyOffsetInRecord { get; private set; }

    /// <summary>CRC-32C of the body, as written into the record.</summary>
    public uint BodyChecksum { get; private set; }

    /// <summary>How many times writing this record failed (a "done" record is retried).</summary>
    public int Failures { get; set; }

    /// <summary>A record that retires a message.</summary>
    public static SpoolOp Done(QueueId id) => new(SpoolRecordFormat.KindDone, id);

    /// <summary>A record that retires a message and is synced with its batch: the message was deleted by the
    /// administrator, and a lost record would deliver it after all.</summary>
    public static SpoolOp DurableDone(QueueId id) => new(SpoolRecordFormat.KindDone, id) { Durable = true };

    /// <summary>Whether the batch that holds this record is synced even when it holds no message record.</summary>
    public bool Durable { get; private init; }

    /// <summary>A message record: a fresh commit (with its writer) or an update (with its body).</summary>
    public static SpoolOp Message(Envelope envelope, IReadOnlyList<RecipientQueueState> states, byte[]? inline, string? externalPath,
        uint? externalChecksum, SpoolWriter? writer, bool recovered) => new(SpoolRecordFormat.KindMessage, envelope.Id)
    {
        Envelope = envelope,
        States = states,
        InlineBody = writer is not null ? writer.InlineBody : inline ?? default,
        ExternalPath = externalPath,
        ExternalChecksum = writer is not null ? writer.Checksum : externalChecksum,
        Writer = writer,
        Recovered = recovered,
    };

    /// <summary>Builds header and checksums (on the committer's thread, so the sessions' threads stay free).</summary>
    public void Encode()
    {
        using var json = new PooledBufferWriter(1024);
        bool message = Kind == SpoolRecordFormat.KindMessage;
        if (message) EnvelopeFile.Write(json, Envelope!, States);
        int envLength = json.WrittenSpan.Length;
        int headerLength = SpoolRecordFormat.HeaderLength
            + (message ? SpoolRecordFormat.EnvelopeLengthField + envLength + SpoolRecordFormat.BodyFields : 0);
        long inlineLength = message && ExternalPath is null ? InlineBody.Length : 0;
        long recordLength = headerLength + inlineLength + 4;
        byte[] h = ArrayPool<byte>.Shared.Rent(headerLength);
        Span<byte> s = h;
        SpoolRecordFormat.WriteHeader(s, Kind, Id, recordLength);
        int at = SpoolRecordFormat.HeaderLength;
        if (message)
        {
            long bodyLength = ExternalPath is null ? InlineBody.Length : Envelope!.Size;
            BodyChecksum = ExternalPath is null ? Crc32C.Compute(InlineBody.Span) : ExternalChecksum ?? 0;
            BinaryPrimitives.WriteInt32LittleEndian(s[at..], envLength);
            at += 4;
            json.WrittenSpan.CopyTo(s[at..]);
            at += envLength;
            s[at++] = ExternalPath is null ? (byte)0 : (byte)1;
            BinaryPrimitives.WriteInt64LittleEndian(s[at..], bodyLength);
            at += 8;
            BinaryPrimitives.WriteUInt32LittleEndian(s[at..], BodyChecksum);
            at += 4;
        }
        BodyOffsetInRecord = at;
        uint crc = Crc32C.Append(0xFFFFFFFFu, s[8..at]);
        if (inlineLength > 0) crc = Crc32C.Append(crc, InlineBody.Span);
        BinaryPrimitives.WriteUInt32LittleEndian(Trailer, ~crc);
        Header = h;
        HeaderLength = at;
        RecordLength = recordLength;
    }

    /// <summary>Returns the pooled header.</summary>
    public void ReleaseHeader()
    {
        if (Header is null) return;
        ArrayPool<byte>.Shared.Return(Header);
        Header = null;
    }
}
