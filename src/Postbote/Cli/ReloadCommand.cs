using Postbote.Host.Configuration;

namespace Postbote.Host.Cli;

/// <summary>
/// <c>postbote reload</c>: sends SIGHUP to the server that runs on this configuration's data directory (the PID in
/// <c>{data_dir}/postbote.lock</c>, which that server holds locked), and to no other process. The server then reloads its
/// TLS certificate and key.
/// </summary>
internal static class ReloadCommand
{
    /// <summary>Sends the signal.</summary>
    /// <param name="config">The configuration whose data directory names the server.</param>
    /// <param name="stdout">Where success is reported.</param>
    /// <param name="stderr">Where failures are reported.</param>
    /// <returns>0 when the signal was sent, 1 when no server runs on the data directory or the signal failed.</returns>
    public static int Run(PostboteConfiguration config, TextWriter stdout, TextWriter stderr)
    {
        string dataDirectory = Path.GetFullPath(config.DataDirectory);
        int? pid;
        try
        {
            pid = DataDirectoryLock.FindOwner(dataDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"postbote: {Path.Combine(dataDirectory, "postbote.lock")}: {Startup.StartupChecks.Reason(e)}");
            return 1;
        }
        if (pid is null)
        {
            stderr.WriteLine($"postbote: no server runs on data directory {dataDirectory}");
            return 1;
        }
        if (Kill(pid.Value, SigHup) != 0)
        {
            stderr.WriteLine($"postbote: SIGHUP to pid {pid}: {System.Runtime.InteropServices.Marshal.GetLastPInvokeErrorMessage()}");
            return 1;
        }
        stdout.WriteLine($"postbote: sent SIGHUP to pid {pid} (data directory {dataDirectory}): the TLS certificate is reloaded");
        return 0;
    }

    private const int SigHup = 1;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
