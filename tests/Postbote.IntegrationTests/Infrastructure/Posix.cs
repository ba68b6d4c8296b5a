using System.Runtime.InteropServices;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>POSIX signals, which <see cref="System.Diagnostics.Process"/> cannot send except SIGKILL.</summary>
public static class Posix
{
    /// <summary>SIGHUP.</summary>
    public const int SigHup = 1;

    /// <summary>SIGTERM.</summary>
    public const int SigTerm = 15;

    /// <summary>Sends <paramref name="signal"/> to process <paramref name="pid"/>.</summary>
    /// <exception cref="InvalidOperationException">kill(2) failed.</exception>
    public static void Signal(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int sig);
}
