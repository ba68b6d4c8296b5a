using System.Runtime.InteropServices;

namespace Postbote.Host;

/// <summary>
/// An exclusive lock on the data directory (<c>{data_dir}/postbote.lock</c>, holding the PID), taken before anything in
/// it is read or written: two servers sharing one spool would delete each other's segments and lose mail.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    /// <summary>Takes the lock, creating the directory if needed.</summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <returns>The lock; dispose it to release.</returns>
    /// <exception cref="IOException">Another process holds the lock (the message names its PID), or the file cannot be
    /// created.</exception>
    public static DataDirectoryLock Acquire(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        string path = Path.Combine(dataDirectory, "postbote.lock");
        FileStream file;
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Unix.
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            int? owner = ReadPid(path);
            throw new IOException($"{Path.GetFullPath(dataDirectory)}: in use by another postbote" +
                (owner is { } holder ? $" (pid {holder})" : "") + "; stop it first, or give this one its own data_dir", e);
        }
        file.SetLength(0);
        byte[] pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId + "\n");
        file.Write(pid);
        file.Flush();
        return new DataDirectoryLock(file);
    }

    /// <summary>The process that holds the lock of a data directory: a running server.</summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <returns>The PID written in <c>postbote.lock</c> while another process holds the lock; <c>null</c> when no
    /// server holds it (no lock file, or the lock is free).</returns>
    /// <exception cref="IOException">The lock file cannot be opened for another reason.</exception>
    /// <exception cref="UnauthorizedAccessException">The lock file may not be read.</exception>
    public static int? FindOwner(string dataDirectory)
    {
        string path = Path.Combine(dataDirectory, "postbote.lock");
        if (!File.Exists(path)) return null;
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            return null; // the lock was free: no server runs on this data directory
        }
        catch (IOException) when (ReadPid(path) is { } pid)
        {
            return pid;
        }
    }

    /// <summary>Reads the PID from a lock file held by another process. .NET's own file API would ask for a shared lock
    /// and fail, so the file is read with plain open(2) and read(2), which ignore flock(2) locks.</summary>
    private static int? ReadPid(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        int fd = Open(path, 0 /* O_RDONLY */);
        if (fd < 0) return null;
        try
        {
            byte[] buffer = new byte[32];
            nint n = Read(fd, buffer, buffer.Length);
            if (n <= 0) return null;
            string text = System.Text.Encoding.ASCII.GetString(buffer, 0, (int)n).Trim();
            return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid) && pid > 0
                ? pid : null;
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint Read(int fd, byte[] buffer, nint count);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);

    /// <summary>Sets the process umask to 077, so spool files, Maildirs and keys are readable by the server's user only,
    /// as Postfix and Dovecot keep mail (a no-op where umask does not exist).</summary>
    public static void RestrictFileModes()
    {
        if (OperatingSystem.IsWindows()) return;
        _ = Umask(0x3F);
    }

    [DllImport("libc", EntryPoint = "umask")]
    private static extern uint Umask(uint mask);

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _file.Dispose();
}
