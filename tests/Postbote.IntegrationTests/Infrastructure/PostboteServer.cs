using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// One server process under test: its own temp folder (configuration, data dir, Maildirs), a free loopback port, the
/// process started as <c>dotnet postbote.dll serve --config FILE</c>, and its output kept for failure messages.
/// </summary>
public sealed class PostboteServer : IAsyncDisposable
{
    private const int MaxLogLines = 4000;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly LinkedList<string> log = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private Process? process;
    private int starts;

    /// <summary>Creates the folders and the configuration; <see cref="StartAsync"/> starts the process.</summary>
    public PostboteServer(ServerOptions? options = null, string name = "server")
    {
        Options = options ?? new ServerOptions();
        var baseDir = Environment.GetEnvironmentVariable("POSTBOTE_TEST_TMP") ?? Path.Combine(Path.GetTempPath(), "postbote-it");
        Directory.CreateDirectory(baseDir);
        TempDir = CreateTempDir(baseDir, name);
        DataDir = Path.Combine(TempDir, "data");
        MaildirRoot = Path.Combine(TempDir, "maildir");
        ConfigPath = Path.Combine(TempDir, "postbote.toml");
        Port = FreePorts.Next();
        SubmissionPort = Options.Submission ? FreePorts.Next() : 0;
        SubmissionsPort = Options.Submissions ? FreePorts.Next() : 0;
        Pop3Port = Options.Pop3 ? FreePorts.Next() : 0;
        Pop3TlsPort = Options.Pop3 ? FreePorts.Next() : 0;
        WriteConfiguration();
    }

    /// <summary>The settings written to <see cref="ConfigPath"/>.</summary>
    public ServerOptions Options { get; }

    /// <summary>This server's own temp folder.</summary>
    public string TempDir { get; }

    /// <summary>data_dir.</summary>
    public string DataDir { get; }

    /// <summary>The spool folder, {data_dir}/spool.</summary>
    public string SpoolDir => Path.Combine(DataDir, "spool");

    /// <summary>[local] maildir_root.</summary>
    public string MaildirRoot { get; }

    /// <summary>The TOML configuration file.</summary>
    public string ConfigPath { get; }

    /// <summary>The SMTP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The submission port (STARTTLS, then AUTH) on 127.0.0.1; 0 without <see cref="ServerOptions.Submission"/>.</summary>
    public int SubmissionPort { get; }

    /// <summary>The submissions port (implicit TLS) on 127.0.0.1; 0 without <see cref="ServerOptions.Submissions"/>.</summary>
    public int SubmissionsPort { get; }

    /// <summary>The POP3 port (STLS, [pop3] listen) on 127.0.0.1; 0 without <see cref="ServerOptions.Pop3"/>.</summary>
    public int Pop3Port { get; }

    /// <summary>The POP3 port over implicit TLS ([pop3] listen_tls) on 127.0.0.1; 0 without <see cref="ServerOptions.Pop3"/>.</summary>
    public int Pop3TlsPort { get; }

    /// <summary>A command the server is started through, e.g. <c>["prlimit", "--nofile=256:256", "--"]</c>; it must exec
    /// the server in its own process, so that <see cref="ProcessId"/> stays the server's. Empty: started directly.</summary>
    public IReadOnlyList<string> LaunchPrefix { get; set; } = [];

    /// <summary>The greeting line seen when the server became ready.</summary>
    public string Greeting { get; private set; } = string.Empty;

    /// <summary>The running process id.</summary>
    public int ProcessId => process?.Id ?? throw new InvalidOperationException("not started");

    /// <summary>Whether the process is running.</summary>
    public bool IsRunning => process is { HasExited: false };

    /// <summary>Starts a server with <paramref name="options"/> and waits for its greeting.</summary>
    public static async Task<PostboteServer> StartNewAsync(ServerOptions? options = null, string name = "server")
    {
        var server = new PostboteServer(options, name);
        try
        {
            await server.StartAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes <see cref="Options"/> to <see cref="ConfigPath"/> again (after a test changed them, before a start).</summary>
    public void WriteConfiguration() =>
        File.WriteAllText(
            ConfigPath,
            Options.ToToml(
                DataDir,
                MaildirRoot,
                [Port],
                Options.Submission ? [SubmissionPort] : null,
                Options.Submissions ? [SubmissionsPort] : null,
                Options.Pop3 ? (Pop3Port, Pop3TlsPort) : null));

    /// <summary>
    /// Runs <c>postbote user add NAME [--address ADDR]... [--any-sender] --config FILE</c> with the password on standard
    /// input (the first line, as the command reads it when stdin is not a terminal).
    /// </summary>
    /// <exception cref="InvalidOperationException">The command did not exit with 0.</exception>
    public async Task AddUserAsync(string name, string password, IEnumerable<string>? addresses = null, bool anySender = false)
    {
        await RepoLayout.EnsureServerBuiltAsync();
        List<string> args = [RepoLayout.ServerDll, "user", "add", name];
        foreach (var address in addresses ?? [])
        {
            args.Add("--address");
            args.Add(address);
        }

        if (anySender)
        {
            args.Add("--any-sender");
        }

        args.AddRange(["--config", ConfigPath]);
        var result = await ExternalProcess.RunAsync(
            "dotnet", args, TimeSpan.FromSeconds(60), TempDir, Encoding.UTF8.GetBytes(password + "\n"));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"postbote user add {name} exited {result.ExitCode}\n{result.Output}");
        }
    }

    /// <summary>Sends SIGHUP (reload the TLS certificate) without waiting.</summary>
    public void SendHangup()
    {
        AddLog("=== SIGHUP");
        Posix.Signal(ProcessId, Posix.SigHup);
    }

    /// <summary>The file descriptors the server process has open now (from /proc; -1 when it cannot be read).</summary>
    public int DescriptorsOpen()
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{ProcessId}/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>How many lines the server printed so far contain <paramref name="text"/>.</summary>
    public int LogCount(string text)
    {
        lock (log)
        {
            return log.Count(l => l.Contains(text, StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Waits (bounded) until at least <paramref name="count"/> lines the server printed contain <paramref name="text"/>;
    /// false when time ran out.
    /// </summary>
    public async Task<bool> WaitForLogAsync(string text, int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (LogCount(text) < count)
        {
            if (clock.Elapsed >= timeout)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    /// <summary>The Maildir of <paramref name="address"/> (local@domain).</summary>
    public Maildir Mailbox(string address) => Maildir.For(MaildirRoot, address);

    /// <summary>Starts the process and waits (at most 30 s) until it greets with 220.</summary>
    /// <exception cref="InvalidOperationException">The process exited or did not greet in time.</exception>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("already running");
        }

        await RepoLayout.EnsureServerBuiltAsync();
        starts++;
        AddLog($"=== start #{starts}: {string.Join(' ', LaunchPrefix)} dotnet {RepoLayout.ServerDll} serve --config {ConfigPath}");
        var psi = new ProcessStartInfo(LaunchPrefix.Count > 0 ? LaunchPrefix[0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = TempDir,
        };
        foreach (var argument in LaunchPrefix.Skip(1))
        {
            psi.ArgumentList.Add(argument);
        }

        if (LaunchPrefix.Count > 0)
        {
            psi.ArgumentList.Add("dotnet");
        }

        psi.ArgumentList.Add(RepoLayout.ServerDll);
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(ConfigPath);
        psi.Environment["DOTNET_NOLOGO"] = "1";
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                AddLog("out| " + e.Data);
            }
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                AddLog("err| " + e.Data);
            }
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        process = p;
        await WaitForGreetingAsync(p);
    }

    /// <summary>SIGKILL: the process dies at once, with no chance to clean up.</summary>
    public async Task KillAsync()
    {
        var p = process ?? throw new InvalidOperationException("not started");
        if (!p.HasExited)
        {
            AddLog("=== SIGKILL");
            p.Kill(entireProcessTree: false);
        }

        await p.WaitForExitAsync();
        p.WaitForExit();
    }

    /// <summary>Kills the process if it runs, then starts it again on the same data dir and port.</summary>
    public async Task RestartAsync()
    {
        if (IsRunning)
        {
            await KillAsync();
        }

        await StartAsync();
    }

    /// <summary>Sends SIGTERM without waiting.</summary>
    public void SendTerminate()
    {
        AddLog("=== SIGTERM");
        Posix.Signal(ProcessId, Posix.SigTerm);
    }

    /// <summary>SIGTERM, then waits up to <paramref name="timeout"/>; returns the exit code, or null when it still runs.</summary>
    public async Task<int?> TerminateAsync(TimeSpan timeout)
    {
        SendTerminate();
        return await WaitForExitAsync(timeout);
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the process to end; its exit code, or null when it still runs.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        var p = process ?? throw new InvalidOperationException("not started");
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        p.WaitForExit();
        AddLog($"=== exited with {p.ExitCode}");
        return p.ExitCode;
    }

    /// <summary>Runs <c>postbote ARGS --config FILE</c> (at most 60 s) and returns what it printed.</summary>
    public async Task<ExternalProcess.Result> RunCliAsync(params string[] args)
    {
        await RepoLayout.EnsureServerBuiltAsync();
        return await ExternalProcess.RunAsync("dotnet", [RepoLayout.ServerDll, .. args, "--config", ConfigPath], TimeSpan.FromSeconds(60), TempDir);
    }

    /// <summary>Runs <c>postbote queue list --config FILE</c> and returns what it printed.</summary>
    public Task<ExternalProcess.Result> QueueListAsync() =>
        ExternalProcess.RunAsync(
            "dotnet",
            [RepoLayout.ServerDll, "queue", "list", "--config", ConfigPath],
            TimeSpan.FromSeconds(60),
            TempDir);

    /// <summary>What the spool still holds, read from its files as <c>postbote queue list</c> does: the queue IDs of the
    /// live messages, and the names of body files that belong to none (none once every message is delivered).</summary>
    public IReadOnlyList<string> SpoolFiles()
    {
        if (!Directory.Exists(SpoolDir)) return [];
        var options = new Postbote.Queue.SpoolOptions { Directory = SpoolDir, CorruptDirectory = Path.Combine(DataDir, "corrupt") };
        using var spool = new Postbote.Queue.Spool(options, Microsoft.Extensions.Logging.Abstractions.NullLogger<Postbote.Queue.Spool>.Instance);
        var live = spool.List().Select(e => e.Id.Value).ToList();
        var strays = Directory.GetFiles(SpoolDir, "*.eml").Select(Path.GetFileName).Where(f => !live.Contains(f![..^4])).Select(f => f!);
        return live.Concat(strays).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Waits (bounded) until the spool holds no file; false when time ran out.</summary>
    public async Task<bool> WaitForEmptySpoolAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (SpoolFiles().Count == 0)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return SpoolFiles().Count == 0;
    }

    /// <summary>The last <paramref name="lines"/> lines the server printed, with start/kill markers.</summary>
    public string LogTail(int lines = 150)
    {
        lock (log)
        {
            return string.Join('\n', log.Skip(Math.Max(0, log.Count - lines)));
        }
    }

    /// <summary>A block for failure messages: the config and the log tail.</summary>
    public string Diagnostics(int lines = 150) =>
        $"\n--- server {ConfigPath} (port {Port}) ---\n{File.ReadAllText(ConfigPath)}\n--- server output (last {lines} lines) ---\n{LogTail(lines)}\n";

    /// <summary>Kills the process and removes the temp folder (kept when POSTBOTE_KEEP_TEMP is set).</summary>
    public async ValueTask DisposeAsync()
    {
        if (process is { } p)
        {
            if (!p.HasExited)
            {
                try
                {
                    p.Kill(entireProcessTree: true);
                    await p.WaitForExitAsync();
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }
            }

            p.Dispose();
            process = null;
        }

        if (Environment.GetEnvironmentVariable("POSTBOTE_KEEP_TEMP") is null)
        {
            try
            {
                Directory.Delete(TempDir, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
            catch (UnauthorizedAccessException)
            {
                // Best effort.
            }
        }
    }

    private static string CreateTempDir(string baseDir, string name)
    {
        var dir = Path.Combine(baseDir, $"{name}-{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private void AddLog(string line)
    {
        var stamped = string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds,8:F3} {line}");
        lock (log)
        {
            log.AddLast(stamped);
            while (log.Count > MaxLogLines)
            {
                log.RemoveFirst();
            }
        }
    }

    private async Task WaitForGreetingAsync(Process p)
    {
        var deadline = Stopwatch.StartNew();
        string lastError = "no attempt";
        while (deadline.Elapsed < StartTimeout)
        {
            if (p.HasExited)
            {
                p.WaitForExit();
                throw new InvalidOperationException(
                    $"the server exited with {p.ExitCode} before greeting on port {Port}{Diagnostics()}");
            }

            try
            {
                using var smtp = await SmtpConnection.ConnectAsync(Port, TimeSpan.FromSeconds(5));
                var line = smtp.Greeting.Text.Split("\r\n")[0];
                if (line.StartsWith("220", StringComparison.Ordinal))
                {
                    Greeting = line;
                    await smtp.SendAsync("QUIT\r\n");
                    AddLog($"=== ready after {deadline.Elapsed.TotalSeconds:F1} s: {line}");
                    return;
                }

                lastError = $"greeting was {line}";
            }
            catch (SocketException e)
            {
                lastError = e.Message;
            }
            catch (IOException e)
            {
                lastError = e.Message;
            }
            catch (OperationCanceledException)
            {
                lastError = "timed out";
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException(
            $"the server did not greet on 127.0.0.1:{Port} within {StartTimeout.TotalSeconds} s ({lastError}){Diagnostics()}");
    }
}
