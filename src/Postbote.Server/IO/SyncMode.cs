namespace Postbote.IO;

/// <summary>
/// How a <see cref="DurabilityBarrier"/> makes written files durable; the Maildir agent's copies go through one before a
/// message is retired from the spool. Either way, concurrent callers share one sync round. (The spool itself always
/// appends to its segment and fdatasyncs it once per batch.)
/// </summary>
public enum SyncMode
{
    /// <summary>
    /// One <c>syncfs(2)</c> of the file system that holds the directory per round: it writes back every dirty
    /// file and directory entry of that file system at once. The default on Linux.
    /// </summary>
    SyncFs,

    /// <summary>
    /// <c>fsync(2)</c> of each written file by its writer, then one <c>fsync(2)</c> per distinct directory per batch.
    /// Portable, and the default where <c>syncfs</c> does not exist.
    /// </summary>
    FsyncEachFile,
}
