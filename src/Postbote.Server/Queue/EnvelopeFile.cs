using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using Postbote.Core;
using Postbote.IO;

namespace Postbote.Queue;

/// <summary>
/// The envelope as stored in a spool record: one JSON object (envelope and per-recipient queue state), a line feed, then
/// the trailer <c>#crc32c=XXXXXXXX</c> and a line feed, where XXXXXXXX is the CRC-32C (upper-case hex) of every byte
/// before the trailer. The record around it has its own checksum; the trailer lets the envelope be checked on its own.
/// </summary>
internal static class EnvelopeFile
{
    /// <summary>The format version written in <c>"v"</c>.</summary>
    public const int Version = 1;

    private const int TrailerLength = 17; // "#crc32c=" + 8 hex + "\n"
    private static ReadOnlySpan<byte> TrailerPrefix => "#crc32c="u8;

    /// <summary>Writes the envelope file content for an envelope and its per-recipient queue state.</summary>
    public static void Write(PooledBufferWriter output, Envelope envelope, IReadOnlyList<RecipientQueueState>? states)
    {
        using (var json = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("v"u8, Version);
            json.WriteString("id"u8, envelope.Id.Value);
            json.WriteString("received"u8, envelope.ReceivedAt);
            if (envelope.ReversePath is { } rp)
            {
                json.WriteStartObject("from"u8);
                json.WriteString("l"u8, rp.LocalPart);
                json.WriteString("d"u8, rp.Domain);
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("from"u8);
            }
            json.WriteString("body"u8, envelope.Body switch
            {
                BodyType.EightBitMime => "8bitmime",
                BodyType.BinaryMime => "binarymime",
                _ => "7bit",
            });
            json.WriteBoolean("smtputf8"u8, envelope.SmtpUtf8);
            json.WriteString("ret"u8, envelope.Return switch
            {
                DsnReturn.Full => "full",
                DsnReturn.Headers => "hdrs",
                _ => "",
            });
            if (envelope.EnvelopeId is { } envid) json.WriteString("envid"u8, envid);
            json.WriteString("ip"u8, envelope.ClientAddress);
            json.WriteString("helo"u8, envelope.HeloName);
            json.WriteNumber("size"u8, envelope.Size);
            json.WriteStartArray("rcpts"u8);
            for (int i = 0; i < envelope.Recipients.Count; i++)
            {
                Recipient r = envelope.Recipients[i];
                RecipientQueueState s = states is not null && i < states.Count ? states[i] : default;
                json.WriteStartObject();
                json.WriteString("l"u8, r.Address.LocalPart);
                json.WriteString("d"u8, r.Address.Domain);
                if (r.Notify != DsnNotify.Default) json.WriteNumber("notify"u8, (int)r.Notify);
                if (r.OriginalRecipient is { } orcpt) json.WriteString("orcpt"u8, orcpt);
                json.WriteString("status"u8, r.Status switch
                {
                    DeliveryStatus.Delivered => "delivered",
                    DeliveryStatus.Deferred => "deferred",
                    DeliveryStatus.Failed => "failed",
                    _ => "queued",
                });
                if (s.Attempts != 0) json.WriteNumber("attempts"u8, s.Attempts);
                if (s.NextAttemptAt is { } next) json.WriteString("next"u8, next);
                if (s.LastReply is { } reply) json.WriteString("reply"u8, reply);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
        uint crc = Crc32C.Compute(output.WrittenSpan);
        Span<byte> trailer = output.GetSpan(TrailerLength);
        TrailerPrefix.CopyTo(trailer);
        crc.TryFormat(trailer.Slice(8, 8), out _, "X8", CultureInfo.InvariantCulture);
        trailer[16] = (byte)'\n';
        output.Advance(TrailerLength);
    }

    /// <summary>Whether the content ends with a trailer whose checksum matches; gives the JSON part.</summary>
    public static bool TryVerify(ReadOnlySpan<byte> content, out ReadOnlySpan<byte> json)
    {
        json = default;
        if (content.Length < TrailerLength + 3) return false;
        ReadOnlySpan<byte> trailer = content[^TrailerLength..];
        if (!trailer.StartsWith(TrailerPrefix) || trailer[16] != (byte)'\n') return false;
        if (!Utf8Parser.TryParse(trailer.Slice(8, 8), out uint expected, out int consumed, 'X') || consumed != 8) return false;
        ReadOnlySpan<byte> covered = content[..^TrailerLength];
        if (covered[^1] != (byte)'\n' || Crc32C.Compute(covered) != expected) return false;
        json = covered[..^1];
        return true;
    }

    /// <summary>Parses the JSON part of a verified envelope file.</summary>
    /// <exception cref="FormatException">The content is not a valid envelope of a known version.</exception>
    public static SpoolEntry Parse(ReadOnlySpan<byte> json, string bodyPath, bool isRecovered)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using JsonDocument doc = JsonDocument.ParseValue(ref reader);
            JsonElement root = doc.RootElement;
            if (root.GetProperty("v"u8).GetInt32() != Version) throw new FormatException("Unknown envelope file version.");
            string id = root.GetProperty("id"u8).GetString() ?? throw new FormatException("No queue ID.");
            if (!QueueId.IsValid(id)) throw new FormatException("Invalid queue ID.");
            JsonElement from = root.GetProperty("from"u8);
            Mailbox? reversePath = from.ValueKind == JsonValueKind.Null ? null : ReadMailbox(from);
            BodyType body = root.GetProperty("body"u8).GetString() switch
            {
                "7bit" => BodyType.SevenBit,
                "8bitmime" => BodyType.EightBitMime,
                "binarymime" => BodyType.BinaryMime,
                _ => throw new FormatException("Unknown body type."),
            };
            DsnReturn ret = root.GetProperty("ret"u8).GetString() switch
            {
                "" => DsnReturn.Default,
                "full" => DsnReturn.Full,
                "hdrs" => DsnReturn.Headers,
                _ => throw new FormatException("Unknown RET value."),
            };
            string? envid = root.TryGetProperty("envid"u8, out JsonElement e) ? e.GetString() : null;
            JsonElement rcpts = root.GetProperty("rcpts"u8);
            int count = rcpts.GetArrayLength();
            var recipients = new Recipient[count];
            var states = new RecipientQueueState[count];
            int i = 0;
            foreach (JsonElement r in rcpts.EnumerateArray())
            {
                DsnNotify notify = r.TryGetProperty("notify"u8, out JsonElement n) ? (DsnNotify)n.GetInt32() : DsnNotify.Default;
                string? orcpt = r.TryGetProperty("orcpt"u8, out JsonElement o) ? o.GetString() : null;
                DeliveryStatus status = r.GetProperty("status"u8).GetString() switch
                {
                    "queued" => DeliveryStatus.Queued,
                    "delivered" => DeliveryStatus.Delivered,
                    "deferred" => DeliveryStatus.Deferred,
                    "failed" => DeliveryStatus.Failed,
                    _ => throw new FormatException("Unknown recipient status."),
                };
                recipients[i] = new Recipient(ReadMailbox(r), notify, orcpt, status);
                states[i] = new RecipientQueueState(
                    r.TryGetProperty("attempts"u8, out JsonElement a) ? a.GetInt32() : 0,
                    r.TryGetProperty("next"u8, out JsonElement next) ? next.GetDateTimeOffset() : null,
                    r.TryGetProperty("reply"u8, out JsonElement reply) ? reply.GetString() : null);
                i++;
            }
            var envelope = new Envelope(
                new QueueId(id),
                reversePath,
                recipients,
                root.GetProperty("received"u8).GetDateTimeOffset(),
                body,
                root.GetProperty("smtputf8"u8).GetBoolean(),
                ret,
                envid,
                root.GetProperty("ip"u8).GetString() ?? "",
                root.GetProperty("helo"u8).GetString() ?? "",
                root.GetProperty("size"u8).GetInt64());
            if (envelope.Size < 0) throw new FormatException("Negative size.");
            return new SpoolEntry(envelope, states, bodyPath, isRecovered);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException("Malformed envelope file: " + ex.Message, ex);
        }
    }

    private static Mailbox ReadMailbox(JsonElement e) =>
        new(e.GetProperty("l"u8).GetString() ?? throw new FormatException("No local part."),
            e.GetProperty("d"u8).GetString() ?? throw new FormatException("No domain."));
}
