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
            string owner = "";
            try
            {
                owner = File.ReadAllText(path).Trim();
            }
            catch (Exception r) when (r is IOException or UnauthorizedAccessException)
            {
                // The PID is only for the message.
            }
            throw new IOException($"the data directory {Path.GetFullPath(dataDirectory)} is in use by another postbote" +
                (owner.Length > 0 ? $" (pid {owner})" : "") + "; stop it first, or give this one its own data_dir", e);
        }
        file.SetLength(0);
        byte[] pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId + "\n");
        file.Write(pid);
        file.Flush();
        return new DataDirectoryLock(file);
    }

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
