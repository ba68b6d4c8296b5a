using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>scripted_receiver.py on loopback addresses: answers what the test scripts, records what the client sent.</summary>
internal sealed class ScriptedReceiver : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private ScriptedReceiver(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    private string CaptureFile => Path.Combine(_dir, "capture.jsonl");

    /// <param name="addresses">The loopback addresses to listen on, all with one port.</param>
    /// <param name="hosts">Per address (or "default"): the replies, see scripted_receiver.py.</param>
    /// <param name="tls">A PEM certificate and key for STARTTLS, or null.</param>
    public static async Task<ScriptedReceiver> StartAsync(string[] addresses, JsonObject? hosts = null, (string Cert, string Key)? tls = null)
    {
        string dir = Directory.CreateTempSubdirectory("postbote-receiver-").FullName;
        var spec = new JsonObject
        {
            ["addresses"] = new JsonArray(addresses.Select(a => (JsonNode)a).ToArray()),
            ["hosts"] = hosts ?? new JsonObject(),
        };
        if (tls is { } t) spec["tls"] = new JsonObject { ["cert"] = t.Cert, ["key"] = t.Key };
        string specFile = Path.Combine(dir, "script.json");
        await File.WriteAllTextAsync(specFile, spec.ToJsonString());
        var psi = new ProcessStartInfo(File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Delivery", "Smtp", "scripted_receiver.py"));
        psi.ArgumentList.Add(specFile);
        psi.ArgumentList.Add(Path.Combine(dir, "capture.jsonl"));
        var process = Process.Start(psi)!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? line = await process.StandardOutput.ReadLineAsync(cts.Token);
        if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal)
            || !int.TryParse(line.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out int port))
        {
            string err = await process.StandardError.ReadToEndAsync(cts.Token);
            process.Kill();
            process.Dispose();
            throw new InvalidOperationException($"scripted_receiver.py did not start: {line}\n{err}");
        }
        return new ScriptedReceiver(process, dir, port);
    }

    /// <summary>Every event so far.</summary>
    public List<JsonElement> Events()
    {
        if (!File.Exists(CaptureFile)) return [];
        return File.ReadAllLines(CaptureFile).Select(l => JsonDocument.Parse(l).RootElement).ToList();
    }

    /// <summary>Waits (at most 10 s) until an event matches, then returns every event.</summary>
    public async Task<List<JsonElement>> WaitForAsync(Func<List<JsonElement>, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            List<JsonElement> events = Events();
            if (done(events) || DateTime.UtcNow > deadline) return events;
            await Task.Delay(50);
        }
    }

    /// <summary>The command lines received, in order.</summary>
    public List<string> Commands() => Events().Where(e => e.TryGetProperty("cmd", out _)).Select(e => e.GetProperty("cmd").GetString()!).ToList();

    /// <summary>The number of connections accepted.</summary>
    public int Connections() => Events().Count(e => e.TryGetProperty("event", out var v) && v.GetString() == "connect");

    /// <summary>The raw message octets of every DATA (with dot-stuffing and the final ".CRLF") or BDAT.</summary>
    public List<byte[]> Messages() => Events()
        .Where(e => e.TryGetProperty("data", out _) || e.TryGetProperty("bdat", out _))
        .Select(e => Convert.FromBase64String((e.TryGetProperty("data", out var d) ? d : e.GetProperty("bdat")).GetString()!))
        .ToList();

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
