namespace Postbote.Queue;

/// <summary>
/// Tells storage exhaustion apart from other I/O failures, so that a full disk is answered as "mail system full"
/// (RFC 3463 §3.4, X.3.1) rather than as an unexplained local error.
/// </summary>
public static class StorageFaults
{
    /// <summary>The Linux errno values .NET puts in <see cref="Exception.HResult"/> of an <see cref="IOException"/>:
    /// ENOSPC 28 (no space left on device) and EDQUOT 122 (disk quota exceeded).</summary>
    private const int Enospc = 28, Edquot = 122;

    /// <summary>The Windows HRESULTs for ERROR_HANDLE_DISK_FULL (39) and ERROR_DISK_FULL (112).</summary>
    private const int HandleDiskFull = unchecked((int)0x80070027), DiskFull = unchecked((int)0x80070070);

    /// <summary>Whether <paramref name="exception"/>, or one it wraps, reports that the file system is full or the quota
    /// is used up.</summary>
    /// <param name="exception">An exception from a spool write, or <c>null</c>.</param>
    /// <returns><c>true</c> for ENOSPC and EDQUOT (or their Windows equivalents).</returns>
    public static bool IsOutOfSpace(Exception? exception)
    {
        for (int depth = 0; exception is not null && depth < 8; depth++, exception = exception.InnerException)
        {
            if (exception is IOException && exception.HResult is Enospc or Edquot or HandleDiskFull or DiskFull) return true;
        }
        return false;
    }
}
