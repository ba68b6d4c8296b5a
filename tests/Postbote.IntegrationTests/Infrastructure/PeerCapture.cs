using System.Diagnostics;
using System.Text.Json;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>The JSON lines aiosmtpd_peer.py appends: one per connection (<c>connect</c>) and per message
/// (<c>message</c>).</summary>
public sealed class PeerCapture(string path)
{
    /// <summary>The capture file.</summary>
    public string Path { get; } = path;

    /// <summary>Every event so far, in order.</summary>
    public IReadOnlyList<JsonElement> Events()
    {
        if (!File.Exists(Path)) return [];
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var events = new List<JsonElement>();
        while (reader.ReadLine() is { } line)
        {
            if (line.EndsWith('}')) events.Add(JsonDocument.Parse(line).RootElement.Clone());
        }
        return events;
    }

    /// <summary>The events of one kind.</summary>
    public IReadOnlyList<JsonElement> Events(string kind) => Events().Where(e => e.GetProperty("event").GetString() == kind).ToList();

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds for the events; false when time ran out.</summary>
    public async Task<bool> WaitAsync(Func<IReadOnlyList<JsonElement>, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition(Events()))
        {
            if (clock.Elapsed >= timeout) return false;
            await Task.Delay(50);
        }
        return true;
    }

    /// <summary>A message's content as received, decoded from base64 as ASCII.</summary>
    public static string Content(JsonElement message) =>
        System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(message.GetProperty("content").GetString()!));
}
