using System.Diagnostics;
using System.Text;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>Runs a command to completion with a time limit and collects what it printed.</summary>
public static class ExternalProcess
{
    /// <summary>The outcome of <see cref="RunAsync"/>.</summary>
    /// <param name="ExitCode">The exit status, or -1 when the time limit killed it.</param>
    /// <param name="StandardOutput">What it wrote to stdout.</param>
    /// <param name="StandardError">What it wrote to stderr.</param>
    /// <param name="TimedOut">Whether the time limit was reached.</param>
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError, bool TimedOut)
    {
        /// <summary>Both streams, for failure messages.</summary>
        public string Output => $"--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> and waits at most <paramref name="timeout"/>.</summary>
    public static async Task<Result> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? workingDirectory = null,
        byte[]? standardInput = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        psi.Environment["PYTHONUNBUFFERED"] = "1";
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(standardInput);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        // Let the asynchronous readers drain.
        process.WaitForExit();
        string outText;
        string errText;
        lock (stdout)
        {
            outText = stdout.ToString();
        }

        lock (stderr)
        {
            errText = stderr.ToString();
        }

        return new Result(timedOut ? -1 : process.ExitCode, outText, errText, timedOut);
    }
}
