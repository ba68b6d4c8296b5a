using Postbote.Host.Configuration;

namespace Postbote.Host.Cli;

/// <summary>
/// <c>postbote reload</c>: sends SIGHUP to the server that runs on this configuration's data directory (the PID in
/// <c>{data_dir}/postbote.lock</c>, which that server holds locked), and to no other process. The server then re-reads its
/// configuration file (what can change live takes effect, open sessions are kept) and its TLS certificate and key.
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
        stdout.WriteLine($"postbote: sent SIGHUP to pid {pid} (data directory {dataDirectory}): it re-reads its configuration and TLS certificate (its log says what changed)");
        return 0;
    }

    /// <summary>Checks the file before the server is asked to read it: a wrong file is not sent, its errors are printed
    /// as <c>postbote check-config</c> prints them.</summary>
    /// <param name="path">The <c>--config</c> file, or <c>null</c> for the embedded default (nothing to check).</param>
    /// <param name="stdout">Where the errors go.</param>
    /// <param name="stderr">Where the verdict goes.</param>
    /// <returns><c>null</c> when the file is valid, else the exit code 2.</returns>
    public static int? CheckFile(string? path, TextWriter stdout, TextWriter stderr)
    {
        if (path is null) return null;
        IReadOnlyList<ConfigurationDiagnostic> found;
        try
        {
            found = ConfigurationLoader.Check(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // said by the loading that follows
        }
        if (!found.Any(d => !d.IsWarning)) return null;
        foreach (ConfigurationDiagnostic d in found) stdout.WriteLine(d);
        stderr.WriteLine($"postbote: {Path.GetFullPath(path)} has errors: not reloaded; the server keeps the configuration in force");
        return 2;
    }

    private const int SigHup = 1;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
