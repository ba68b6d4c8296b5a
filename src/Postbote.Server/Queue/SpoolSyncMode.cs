namespace Postbote.Queue;

/// <summary>
/// How the spool and the Maildir agent make files durable before a commit is acknowledged (RFC 5321 §6.1: "the
/// receiver-SMTP MUST NOT lose the message"). Either way, concurrent commits share one sync round (group commit).
/// </summary>
public enum SpoolSyncMode
{
    /// <summary>
    /// One <c>syncfs(2)</c> of the file system that holds the directory per batch of commits: it writes back every dirty
    /// file and directory entry of that file system at once. The default on Linux.
    /// </summary>
    SyncFs,

    /// <summary>
    /// <c>fsync(2)</c> of each written file by its writer, then one <c>fsync(2)</c> per distinct directory per batch.
    /// Portable, and the default where <c>syncfs</c> does not exist.
    /// </summary>
    FsyncEachFile,
}
