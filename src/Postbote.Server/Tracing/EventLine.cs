using System.Diagnostics.CodeAnalysis;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Postbote.Core;

namespace Postbote.Tracing;

/// <summary>
/// The stored and exported form of one event: a JSON object on one line, the queue ID first, then the event's
/// properties in snake case without those that are <c>null</c>, the kind in snake case, times in ISO 8601
/// (<c>{"id":"…","time":"2025-01-01T10:00:00.123+00:00","kind":"attempt","recipients":["bob@example.org"],…}</c>). It is
/// also what <c>postbote trace --json</c> prints, one line per event.
/// </summary>
public static class EventLine
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The line for an event, without its LF.</summary>
    /// <param name="traced">The event and its queue ID.</param>
    /// <returns>One line of JSON; no control character in it is left unescaped.</returns>
    public static string Format(TracedEvent traced)
    {
        ArgumentNullException.ThrowIfNull(traced);
        // The event's own object with the queue ID put in front: a queue ID is letters and digits, nothing to escape.
        // (Built through a JSON document before, which cost more than the event store's write for every event.)
        string body = JsonSerializer.Serialize(traced.Event, Json);
        return body == "{}"
            ? string.Concat("{\"id\":\"", traced.Id.Value, "\"}")
            : string.Concat("{\"id\":\"", traced.Id.Value, "\",", body.AsSpan(1));
    }

    /// <summary>Reads a line back.</summary>
    /// <param name="line">The line.</param>
    /// <param name="traced">The event, when the line is one.</param>
    /// <returns>Whether the line is a stored event (a torn or damaged line is not).</returns>
    public static bool TryParse(string line, [NotNullWhen(true)] out TracedEvent? traced)
    {
        traced = null;
        try
        {
            if (JsonNode.Parse(line) is not JsonObject node || node["id"]?.GetValue<string>() is not { } id || !QueueId.IsValid(id)) return false;
            MessageEvent? e = node.Deserialize<MessageEvent>(Json);
            if (e is null) return false;
            traced = new TracedEvent(new QueueId(id), e);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return false;
        }
    }
}
