using Postbote.Core;

namespace Postbote.Queue;

/// <summary>One record's place and fields in a segment; offsets and lengths in bytes from the segment's start.</summary>
internal readonly record struct SpoolRecord
{
    /// <summary>Offset of the record's first byte.</summary>
    public long Start { get; init; }

    /// <summary>The whole record's length.</summary>
    public long Length { get; init; }

    /// <summary>Offset just past the record.</summary>
    public long End => Start + Length;

    /// <summary>The record kind (<see cref="SpoolRecordFormat.KindMessage"/>, …).</summary>
    public byte Kind { get; init; }

    /// <summary>The queue ID (default for a seal).</summary>
    public QueueId Id { get; init; }

    /// <summary>1 or 2: the format the record was written in.</summary>
    public int Version { get; init; }

    /// <summary>Offset of the envelope JSON (a message record).</summary>
    public long EnvelopeOffset { get; init; }

    /// <summary>Length of the envelope JSON.</summary>
    public int EnvelopeLength { get; init; }

    /// <summary>Whether the body is in a file of its own.</summary>
    public bool ExternalBody { get; init; }

    /// <summary>The body length.</summary>
    public long BodyLength { get; init; }

    /// <summary>Offset of an inline body (for an own-file body, the end of the record's fields).</summary>
    public long BodyOffset { get; init; }

    /// <summary>CRC-32C of the body bytes; <c>null</c> for a record in the first format.</summary>
    public uint? BodyChecksum { get; init; }

    /// <summary>For a seal: how many bytes of the segment were durable when it was closed.</summary>
    public long SealedLength { get; init; }
}
