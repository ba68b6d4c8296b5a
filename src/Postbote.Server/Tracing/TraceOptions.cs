namespace Postbote.Tracing;

/// <summary>The <c>[trace]</c> settings of the event store behind <c>postbote trace</c>.</summary>
public sealed class TraceOptions
{
    /// <summary>The store's directory, <c>{data_dir}/trace</c>.</summary>
    public string Directory { get; set; } = "data/trace";

    /// <summary>How long events are kept: <c>[trace] retention</c>, 604,800 seconds (7 days) by default. A segment file
    /// whose newest event is older is deleted.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The most the store may take on disk: <c>[trace] max_size</c>, 268,435,456 bytes (256 MiB) by default; the
    /// oldest segments are deleted first, so the store stays within this size (unless one segment alone were larger).</summary>
    public long MaxSize { get; set; } = 256L * 1024 * 1024;

    /// <summary>The size in bytes at which a segment file is closed and the next begun: a sixteenth of
    /// <see cref="MaxSize"/>, at least 64 KiB, so that deleting the oldest segment frees at most that much.</summary>
    public long SegmentSize => Math.Max(64 * 1024, MaxSize / 16);

    /// <summary>How long a batch of events waits before it is written: 200 milliseconds (fewer writes under load; an
    /// event is on disk at most this long after it happened).</summary>
    public TimeSpan FlushDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The retention is not positive, or the size below 1 MiB.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Retention, TimeSpan.Zero, nameof(Retention));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSize, 1024 * 1024, nameof(MaxSize));
    }
}
