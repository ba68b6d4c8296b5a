namespace Postbote.Queue;

/// <summary>What <see cref="SpoolRecordFormat.TryRead"/> found at an offset.</summary>
internal enum RecordStatus
{
    /// <summary>A whole record that checks out.</summary>
    Valid,

    /// <summary>A record header whose record runs past the end of the data: the tail of a write that never finished.</summary>
    Truncated,

    /// <summary>A record whose header checks out (so its length and queue ID can be trusted) but whose content does not.</summary>
    Damaged,

    /// <summary>No record header here.</summary>
    Invalid,
}
