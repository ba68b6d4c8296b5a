using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
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
        var line = new ArrayBufferWriter<byte>(256);
        using var json = new Utf8JsonWriter(line, WriterOptions);
        Write(traced, json, new ArrayBufferWriter<byte>(256), line);
        return Encoding.UTF8.GetString(line.WrittenSpan);
    }

    /// <summary>Writes the line for an event, without its LF, as UTF-8: the same octets as <see cref="Format"/>, through
    /// buffers the caller keeps, so a batch of events costs no string per event.</summary>
    /// <param name="traced">The event and its queue ID.</param>
    /// <param name="json">A writer made with <see cref="WriterOptions"/>; it is reset onto <paramref name="scratch"/>.</param>
    /// <param name="scratch">Where the event's own object is serialized first; its contents are replaced.</param>
    /// <param name="output">Where the line goes.</param>
    internal static void Write(TracedEvent traced, Utf8JsonWriter json, ArrayBufferWriter<byte> scratch, IBufferWriter<byte> output)
    {
        scratch.ResetWrittenCount();
        json.Reset(scratch);
        JsonSerializer.Serialize(json, traced.Event, Json);
        json.Flush();
        // The event's own object with the queue ID put in front: a queue ID is letters and digits, nothing to escape.
        // (Built through a JSON document before, which cost more than the event store's write for every event.)
        ReadOnlySpan<byte> body = scratch.WrittenSpan;
        output.Write("{\"id\":\""u8);
        string id = traced.Id.Value;
        Span<byte> ascii = output.GetSpan(id.Length);
        Encoding.ASCII.GetBytes(id, ascii);
        output.Advance(id.Length);
        if (body.SequenceEqual("{}"u8)) output.Write("\"}"u8);
        else
        {
            output.Write("\","u8);
            output.Write(body[1..]);
        }
    }

    /// <summary>The options of the <see cref="Utf8JsonWriter"/> given to <see cref="Write"/>: the serializer's escaping,
    /// no indentation.</summary>
    internal static JsonWriterOptions WriterOptions => new() { Encoder = Json.Encoder };

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
