using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Postbote.IO;

/// <summary>
/// The libc calls for durable files that .NET does not expose: <c>fdatasync(2)</c> of a file, <c>open(2)</c> and
/// <c>fsync(2)</c> of a directory, <c>syncfs(2)</c> of a whole file system, and unnamed files (<c>open(2)</c> with
/// <c>O_TMPFILE</c>, named later with <c>linkat(2)</c>). Used by the spool, the user file and Maildir delivery.
/// </summary>
/// <remarks>Every failure is an <see cref="IOException"/> whose message names the call, the path and the system's
/// reason (errno text and number), and whose <see cref="Exception.HResult"/> is the errno.</remarks>
internal static class NativeMethods
{
    private const int O_RDONLY = 0;
    private const int O_WRONLY = 1;
    private const int O_CLOEXEC = 0x80000;
    private const int O_TMPFILE = 0x410000;
    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_FOLLOW = 0x400;
    private const int EEXIST = 17;

    /// <summary>The mode of an unnamed file: 0600 (owner read and write).</summary>
    private const int UnnamedFileMode = 0x180;

    [DllImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static extern int SyncFsNative(int fd);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FsyncNative(int fd);

    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static extern int FdatasyncNative(int fd);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenModeNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "linkat", SetLastError = true)]
    private static extern int LinkAtNative(int olddirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, int newdirfd,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath, int flags);

    /// <summary>Whether directories can be opened and synced (any Unix; Windows has no directory fsync).</summary>
    public static bool CanSyncDirectories => !OperatingSystem.IsWindows();

    /// <summary>Whether <c>syncfs(2)</c> exists (Linux 2.6.39 and later).</summary>
    public static bool HasSyncFs => OperatingSystem.IsLinux();

    /// <summary>open(2) with <c>O_TMPFILE</c>: an unnamed file in <paramref name="directory"/> (mode 0600), to be given a
    /// name with <see cref="TryLinkUnnamed"/> once complete; it vanishes by itself if never linked.</summary>
    /// <param name="directory">The directory that will hold the file.</param>
    /// <returns>The handle, open for writing, or <c>null</c> where the system or file system has no <c>O_TMPFILE</c>
    /// (or the open failed for any other reason: the caller then creates a named file and meets the error there).</returns>
    public static SafeFileHandle? TryOpenUnnamed(string directory)
    {
        if (!OperatingSystem.IsLinux()) return null;
        int fd = OpenModeNative(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, UnnamedFileMode);
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>linkat(2) of an unnamed file to <paramref name="path"/> (through <c>/proc/self/fd</c>, which needs no
    /// privilege).</summary>
    /// <param name="handle">A handle from <see cref="TryOpenUnnamed"/>.</param>
    /// <param name="path">The name to give it.</param>
    /// <returns><c>true</c> when linked, <c>false</c> when <paramref name="path"/> already exists.</returns>
    /// <exception cref="IOException">The link failed otherwise.</exception>
    public static bool TryLinkUnnamed(SafeFileHandle handle, string path)
    {
        string source = "/proc/self/fd/" + ((int)handle.DangerousGetHandle()).ToString(CultureInfo.InvariantCulture);
        if (LinkAtNative(AT_FDCWD, source, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) return true;
        if (Marshal.GetLastPInvokeError() == EEXIST) return false;
        throw Error("linkat", path);
    }

    /// <summary>Opens a directory read-only, for <see cref="SyncFs"/> or <see cref="Fsync"/>.</summary>
    /// <param name="path">The directory.</param>
    /// <returns>The handle; the caller disposes it.</returns>
    /// <exception cref="IOException">open(2) failed.</exception>
    public static SafeFileHandle OpenDirectory(string path)
    {
        int fd = OpenNative(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw Error("open", path);
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>syncfs(2): writes back every dirty file and directory entry of the file system that holds
    /// <paramref name="handle"/>.</summary>
    /// <param name="handle">Any open file or directory on that file system.</param>
    /// <param name="path">Its path, for the error message.</param>
    /// <exception cref="IOException">syncfs(2) failed.</exception>
    public static void SyncFs(SafeFileHandle handle, string path)
    {
        if (SyncFsNative((int)handle.DangerousGetHandle()) != 0) throw Error("syncfs", path);
    }

    /// <summary>fsync(2) of an open file or directory: its data and metadata (for a directory, its entries) reach stable
    /// storage.</summary>
    /// <param name="handle">The open file or directory (see <see cref="OpenDirectory"/>).</param>
    /// <param name="path">Its path, for the error message.</param>
    /// <exception cref="IOException">fsync(2) failed.</exception>
    public static void Fsync(SafeFileHandle handle, string path)
    {
        if (FsyncNative((int)handle.DangerousGetHandle()) != 0) throw Error("fsync", path);
    }

    /// <summary>fdatasync(2): the file's data and the metadata needed to read it back (its size) reach stable storage;
    /// a full flush (<see cref="RandomAccess.FlushToDisk"/>) where fdatasync does not exist.</summary>
    /// <param name="handle">An open file.</param>
    /// <param name="path">The file's path, for the error message.</param>
    /// <exception cref="IOException">The call failed.</exception>
    public static void Fdatasync(SafeFileHandle handle, string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }
        if (FdatasyncNative((int)handle.DangerousGetHandle()) != 0) throw Error("fdatasync", path);
    }

    /// <summary>Opens, fsyncs and closes a directory, so that the files created, renamed, linked or removed in it so far
    /// are durable; nothing where directories cannot be synced (<see cref="CanSyncDirectories"/>).</summary>
    /// <param name="path">The directory.</param>
    /// <exception cref="IOException">open(2) or fsync(2) failed.</exception>
    public static void FsyncDirectory(string path)
    {
        if (!CanSyncDirectories) return;
        using SafeFileHandle handle = OpenDirectory(path);
        Fsync(handle, path);
    }

    private static IOException Error(string call, string path)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call}({path}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
    }
}
