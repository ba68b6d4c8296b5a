using Postbote.IO;

namespace Postbote.Queue;

/// <summary>
/// Where the spool lives and how it syncs. Set from the data directory of the configuration: the spool is
/// <c>{data_dir}/spool</c>, unreadable entries go to <c>{data_dir}/corrupt</c>.
/// </summary>
public sealed class SpoolOptions
{
    /// <summary>The spool directory: segment files <c>seg-NNNNNNNNNNNN.log</c>, and <c>&lt;id&gt;.eml</c> for bodies over
    /// <see cref="Spool.InlineLimit"/>. Default: <c>data/spool</c>.</summary>
    public string Directory { get; set; } = Path.Combine("data", "spool");

    /// <summary>Where entries that cannot be read are moved, never to be retried. Default: <c>data/corrupt</c>.</summary>
    public string CorruptDirectory { get; set; } = Path.Combine("data", "corrupt");

    /// <summary>How local deliveries are made durable (see <see cref="Postbote.IO.SyncMode"/>). Default:
    /// <see cref="SyncMode.SyncFs"/> on Linux, <see cref="SyncMode.FsyncEachFile"/> elsewhere.</summary>
    public SyncMode SyncMode { get; set; } = OperatingSystem.IsLinux() ? SyncMode.SyncFs : SyncMode.FsyncEachFile;

    /// <summary>Bytes after which a segment is closed and a new one started. Defaults to 64 MiB; at least 64 KiB.</summary>
    public long SegmentSize { get; set; } = 64L * 1024 * 1024;

    /// <summary>Checks the options at start-up.</summary>
    /// <exception cref="ArgumentException">A directory is empty, or both directories are the same.</exception>
    public void Validate()
    {
        if (SegmentSize < 64 * 1024) throw new ArgumentException("The segment size must be at least 64 KiB.", nameof(SegmentSize));
        if (string.IsNullOrWhiteSpace(Directory)) throw new ArgumentException("The spool directory must be set.", nameof(Directory));
        if (string.IsNullOrWhiteSpace(CorruptDirectory)) throw new ArgumentException("The corrupt directory must be set.", nameof(CorruptDirectory));
        if (string.Equals(Path.GetFullPath(Directory).TrimEnd(Path.DirectorySeparatorChar),
                Path.GetFullPath(CorruptDirectory).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
        {
            throw new ArgumentException("The corrupt directory must differ from the spool directory.", nameof(CorruptDirectory));
        }
    }
}
