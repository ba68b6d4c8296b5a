using Postbote.Core;

namespace Postbote.Queue;

/// <summary>What a scan of the spool found.</summary>
internal sealed class SpoolScan
{
    /// <summary>Live messages by queue ID, with the segment of their latest record.</summary>
    public Dictionary<QueueId, (SpoolEntry Entry, long Segment)> Live { get; } = new();

    /// <summary>Every segment's sequence number.</summary>
    public List<long> Segments { get; } = new();

    /// <summary>Messages whose latest record checks out but does not parse: set aside, to be retired.</summary>
    public List<QueueId> Corrupt { get; } = new();

    /// <summary>Messages named by damaged records and by no intact later one.</summary>
    public HashSet<QueueId> DamagedIds { get; } = new();

    /// <summary>Whether damaged bytes held records whose queue IDs could not be read.</summary>
    public bool UnidentifiedDamage { get; set; }

    /// <summary>Segments without a seal: sequence, how many bytes of it count as durable (up to an unfinished tail), file
    /// length (bytes).</summary>
    public List<(long Segment, long GoodEnd, long Length)> Unsealed { get; } = new();
}
