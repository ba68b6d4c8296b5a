using System.Diagnostics;
using System.Globalization;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// A peer written as a python3 script in Scripts/ (aiosmtpd as a remote server or smarthost), run with Debian's python3
/// (which sees Debian's python3-aiosmtpd). The script listens on a port the system picks, prints <c>ready PORT</c>, and
/// stops when its standard input closes; disposing closes it and waits (10 s, then kills).
/// </summary>
public sealed class ScriptPeer : IDisposable
{
    private readonly Process _process;

    private ScriptPeer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The TCP port it listens on.</summary>
    public int Port { get; }

    /// <summary>Starts <paramref name="script"/> with <paramref name="args"/> and waits (30 s) for its ready line.</summary>
    /// <param name="script">The file name in Scripts/.</param>
    /// <param name="args">Its arguments.</param>
    /// <returns>The running peer.</returns>
    /// <exception cref="InvalidOperationException">It did not say it was ready; the message holds its error output.</exception>
    public static async Task<ScriptPeer> StartAsync(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Scripts", script));
        foreach (string a in args) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        string? ready = null;
        try
        {
            ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
        }
        if (ready is null || !ready.StartsWith("ready ", StringComparison.Ordinal))
        {
            process.Kill();
            string error = await process.StandardError.ReadToEndAsync();
            process.Dispose();
            throw new InvalidOperationException($"{script} did not start: {error}");
        }
        return new ScriptPeer(process, int.Parse(ready.AsSpan(6), CultureInfo.InvariantCulture));
    }

    /// <summary>Closes its standard input (it stops) and waits for it.</summary>
    public void Dispose()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(10_000)) _process.Kill();
        _process.Dispose();
    }
}
