using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Postbote.Tests.Protocol.Client;

/// <summary>aiosmtpd (Debian's python3-aiosmtpd) as an SMTP or LMTP server on a loopback port, started by the test and
/// stopped when disposed; what it received is read back from its capture file.</summary>
internal sealed class AiosmtpdPeer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private AiosmtpdPeer(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    private string CaptureFile => Path.Combine(_dir, "capture.jsonl");

    public static async Task<AiosmtpdPeer> StartAsync(string mode, long sizeLimit)
    {
        // Debian's interpreter, which has the python3-aiosmtpd package (a python3 earlier on PATH may not).
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        string dir = Directory.CreateTempSubdirectory("postbote-peer-").FullName;
        var psi = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Protocol", "Client", "aiosmtpd_peer.py"));
        psi.ArgumentList.Add(mode);
        psi.ArgumentList.Add(Path.Combine(dir, "capture.jsonl"));
        psi.ArgumentList.Add(sizeLimit.ToString(CultureInfo.InvariantCulture));
        var process = Process.Start(psi)!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            // "ready PORT": the peer binds a port the system picks, so no other test can take it in between.
            string? line = await process.StandardOutput.ReadLineAsync(cts.Token);
            if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal)
                || !int.TryParse(line.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out int port))
            {
                string err = await process.StandardError.ReadToEndAsync(cts.Token);
                throw new InvalidOperationException($"aiosmtpd did not start: {line}\n{err}");
            }
            return new AiosmtpdPeer(process, dir, port);
        }
        catch
        {
            await new AiosmtpdPeer(process, dir, 0).DisposeAsync();
            throw;
        }
    }

    /// <summary>The messages the peer received, in order, once it has written them (waits at most 10 s).</summary>
    public async Task<List<JsonElement>> ReceivedAsync(int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var lines = File.Exists(CaptureFile) ? await File.ReadAllLinesAsync(CaptureFile) : [];
            if (lines.Length >= count || DateTime.UtcNow > deadline)
                return lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { _process.Kill(); }
        }
        finally
        {
            _process.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }
}
