using System.Runtime.InteropServices;

namespace Postbote.Net;

/// <summary>
/// How many connections the process's file descriptor limit (<c>RLIMIT_NOFILE</c>, getrlimit(2)) can carry. Each
/// connection needs its socket and, while it receives a large message, the message's own body file: two descriptors.
/// <see cref="Reserved"/> more are kept for the listeners, spool segments, Maildir deliveries and the runtime, on top of
/// those already open when the server starts.
/// </summary>
public static class DescriptorLimit
{
    /// <summary>Descriptors kept free for everything but connections: 64.</summary>
    public const int Reserved = 64;

    /// <summary>Descriptors one connection may hold at once: its socket and a message body file, 2.</summary>
    public const int PerConnection = 2;

    private const int RlimitNofileLinux = 7, RlimitNofileBsd = 8;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static extern int GetRLimit(int resource, out RLimit limit);

    /// <summary>The soft limit on open file descriptors (the one that makes open(2) and accept(2) fail with EMFILE).</summary>
    /// <returns>The limit, or <c>null</c> when there is none (RLIM_INFINITY) or the system has no getrlimit(2).</returns>
    public static long? SoftLimit()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD()) return null;
        try
        {
            int resource = OperatingSystem.IsLinux() ? RlimitNofileLinux : RlimitNofileBsd;
            if (GetRLimit(resource, out RLimit limit) != 0 || limit.Current > long.MaxValue) return null;
            return (long)limit.Current;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The descriptors the process has open now, counted in <c>/proc/self/fd</c>.</summary>
    /// <returns>The count, or 0 where <c>/proc</c> is not available.</returns>
    public static int OpenNow()
    {
        try
        {
            return Directory.Exists("/proc/self/fd") ? Directory.GetFileSystemEntries("/proc/self/fd").Length : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>The most connections <paramref name="softLimit"/> descriptors carry: what is left after the
    /// <paramref name="openNow"/> already open and <see cref="Reserved"/>, divided by <see cref="PerConnection"/>;
    /// at least 1.</summary>
    /// <param name="softLimit">The soft <c>RLIMIT_NOFILE</c>, in descriptors.</param>
    /// <param name="openNow">Descriptors already open.</param>
    /// <returns>The number of connections, at least 1.</returns>
    public static int ConnectionsFor(long softLimit, int openNow) =>
        (int)Math.Clamp((softLimit - openNow - Reserved) / PerConnection, 1, int.MaxValue);
}
