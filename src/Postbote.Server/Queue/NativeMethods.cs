using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Postbote.Queue;

/// <summary>The few libc calls .NET does not expose: <c>syncfs(2)</c>, and <c>open(2)</c>/<c>fsync(2)</c> of a directory.</summary>
internal static class NativeMethods
{
    private const int O_RDONLY = 0;
    private const int O_CLOEXEC = 0x80000;

    [DllImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static extern int SyncFsNative(int fd);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FsyncNative(int fd);

    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static extern int FdatasyncNative(int fd);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenModeNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "linkat", SetLastError = true)]
    private static extern int LinkAtNative(int olddirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, int newdirfd,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath, int flags);

    private const int O_WRONLY = 1, O_TMPFILE = 0x410000, AT_FDCWD = -100, AT_SYMLINK_FOLLOW = 0x400;
    private const int EEXIST = 17;

    /// <summary>open(2) with <c>O_TMPFILE</c>: an unnamed file in <paramref name="directory"/> (mode 0600), to be given a
    /// name with <see cref="TryLinkUnnamed"/> once complete; it vanishes by itself if never linked.</summary>
    /// <param name="directory">The directory that will hold the file.</param>
    /// <returns>The handle, or <c>null</c> where the system or file system has no <c>O_TMPFILE</c>.</returns>
    public static SafeFileHandle? TryOpenUnnamed(string directory)
    {
        if (!OperatingSystem.IsLinux()) return null;
        int fd = OpenModeNative(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0x180);
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
        string source = "/proc/self/fd/" + ((int)handle.DangerousGetHandle()).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (LinkAtNative(AT_FDCWD, source, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) return true;
        if (Marshal.GetLastPInvokeError() == EEXIST) return false;
        throw Error("linkat", path);
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    /// <summary>Whether directories can be opened and synced (any Unix; Windows has no directory fsync).</summary>
    public static bool CanSyncDirectories => !OperatingSystem.IsWindows();

    /// <summary>Whether <c>syncfs(2)</c> exists (Linux 2.6.39 and later).</summary>
    public static bool HasSyncFs => OperatingSystem.IsLinux();

    /// <summary>Opens a directory read-only for <see cref="SyncFs"/> or <see cref="Fsync"/>.</summary>
    /// <exception cref="IOException">open(2) failed.</exception>
    public static SafeFileHandle OpenDirectory(string path)
    {
        int fd = OpenNative(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw Error("open", path);
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>syncfs(2): writes back the whole file system that holds <paramref name="handle"/>.</summary>
    /// <exception cref="IOException">syncfs(2) failed.</exception>
    public static void SyncFs(SafeFileHandle handle, string path)
    {
        if (SyncFsNative((int)handle.DangerousGetHandle()) != 0) throw Error("syncfs", path);
    }

    /// <summary>fsync(2) of an open directory.</summary>
    /// <exception cref="IOException">fsync(2) failed.</exception>
    public static void Fsync(SafeFileHandle handle, string path)
    {
        if (FsyncNative((int)handle.DangerousGetHandle()) != 0) throw Error("fsync", path);
    }

    /// <summary>Opens, fsyncs and closes a directory, so that renames and creations in it are durable.</summary>
    /// <exception cref="IOException">open(2) or fsync(2) failed.</exception>
    /// <summary>fdatasync(2): the file's data and the metadata needed to read it back (its size) reach stable storage;
    /// fsync where fdatasync does not exist.</summary>
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
