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
/// <remarks>
/// Version 2 keeps per recipient: <c>status</c> (queued, delivered, deferred, failed, held), <c>attempts</c>, <c>next</c>
/// (next attempt), <c>last</c> (last attempt), the last reply as <c>code</c>, <c>esc</c> (enhanced status code) and
/// <c>text</c>, <c>host</c> (the remote host that replied), <c>dn</c> (delay notice sent), <c>handover</c> (relayed,
/// relayed-dsn; left out for final delivery), <c>notify</c> and <c>orcpt</c>. Fields at their default are left out.
/// Per message, beside the envelope, the optional <c>hdrs</c> (header fields the end-of-data policy added) and <c>junk</c>
/// (quarantine); a record without them is read as having none, so they needed no new version.
/// Version 1 (status without held, the reply as one text <c>reply</c>) is still read; its reply text is split into code,
/// enhanced code and text where it has that shape.
/// </remarks>
internal static class EnvelopeFile
{
    /// <summary>The format version written in <c>"v"</c>.</summary>
    public const int Version = 2;

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
            if (envelope.AddedHeaders is { } added) json.WriteString("hdrs"u8, added);
            if (envelope.Quarantine) json.WriteBoolean("junk"u8, true);
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
                    DeliveryStatus.Held => "held",
                    _ => "queued",
                });
                if (s.Attempts != 0) json.WriteNumber("attempts"u8, s.Attempts);
                if (s.NextAttemptAt is { } next) json.WriteString("next"u8, next);
                if (s.LastAttemptAt is { } last) json.WriteString("last"u8, last);
                if (s.LastReplyCode is { } code)
                {
                    json.WriteNumber("code"u8, code);
                    if (s.LastReplyStatus is { } esc) json.WriteString("esc"u8, esc.ToString());
                    json.WriteString("text"u8, s.LastReplyText ?? "");
                }
                else if (s.LastReply is { } reply)
                {
                    json.WriteString("reply"u8, reply);
                }
                if (s.RemoteHost is { } host) json.WriteString("host"u8, host);
                if (s.DelayNotified) json.WriteBoolean("dn"u8, true);
                if (s.Handover != DeliveryHandover.Final)
                {
                    json.WriteString("handover"u8, s.Handover == DeliveryHandover.RelayedWithDsn ? "relayed-dsn" : "relayed");
                }
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
            int version = root.GetProperty("v"u8).GetInt32();
            if (version is not (1 or Version)) throw new FormatException("Unknown envelope file version.");
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
                    "held" when version >= 2 => DeliveryStatus.Held,
                    _ => throw new FormatException("Unknown recipient status."),
                };
                recipients[i] = new Recipient(ReadMailbox(r), notify, orcpt, status);
                states[i] = ReadState(r);
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
                root.GetProperty("size"u8).GetInt64(),
                root.TryGetProperty("hdrs"u8, out JsonElement hdrs) ? AddedHeaders(hdrs.GetString()) : null,
                root.TryGetProperty("junk"u8, out JsonElement junk) && junk.GetBoolean());
            if (envelope.Size < 0) throw new FormatException("Negative size.");
            return new SpoolEntry(envelope, states, bodyPath, isRecovered);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException("Malformed envelope file: " + ex.Message, ex);
        }
    }

    /// <summary>The <c>hdrs</c> field, which goes before the stored bytes as it is: it must be whole header fields (RFC
    /// 5322 §2.2: a field name of printable characters but the colon, a colon, lines ended by CRLF, each further line of a
    /// field begun by white space), so that a record cut or altered there cannot end the header section early or run a
    /// field into the Received field after it.</summary>
    /// <exception cref="FormatException">It is not.</exception>
    private static string? AddedHeaders(string? text)
    {
        if (text is null) return null;
        if (text.Length == 0 || !text.EndsWith("\r\n", StringComparison.Ordinal)) throw new FormatException("The added header fields (hdrs) do not end with CRLF.");
        bool lineStart = true, inName = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\r')
            {
                if (inName || lineStart || i + 1 >= text.Length || text[i + 1] != '\n')
                    throw new FormatException("The added header fields (hdrs) have an empty line, a bare CR or a line without a colon.");
                i++;
                lineStart = true;
                continue;
            }
            if (c == '\n' || c == '\0') throw new FormatException("The added header fields (hdrs) have a bare LF or a NUL.");
            if (lineStart)
            {
                lineStart = false;
                // A line that begins with white space continues the field before it; the first line cannot.
                if (c is ' ' or '\t')
                {
                    if (i == 0) throw new FormatException("The added header fields (hdrs) begin with a continuation line.");
                    continue;
                }
                inName = true;
            }
            if (inName)
            {
                if (c == ':')
                {
                    if (i == 0 || text[i - 1] == '\n') throw new FormatException("The added header fields (hdrs) have an empty field name.");
                    inName = false;
                }
                else if (c is < '!' or > '~') throw new FormatException("The added header fields (hdrs) have a field name that is not printable ASCII.");
            }
        }
        return text;
    }

    private static RecipientQueueState ReadState(JsonElement r)
    {
        var state = new RecipientQueueState(
            r.TryGetProperty("attempts"u8, out JsonElement a) ? a.GetInt32() : 0,
            r.TryGetProperty("next"u8, out JsonElement next) ? next.GetDateTimeOffset() : null)
        {
            LastAttemptAt = r.TryGetProperty("last"u8, out JsonElement last) ? last.GetDateTimeOffset() : null,
            RemoteHost = r.TryGetProperty("host"u8, out JsonElement host) ? host.GetString() : null,
            DelayNotified = r.TryGetProperty("dn"u8, out JsonElement dn) && dn.GetBoolean(),
            Handover = r.TryGetProperty("handover"u8, out JsonElement h) ? h.GetString() switch
            {
                "relayed" => DeliveryHandover.Relayed,
                "relayed-dsn" => DeliveryHandover.RelayedWithDsn,
                _ => throw new FormatException("Unknown hand-over."),
            } : DeliveryHandover.Final,
        };
        if (r.TryGetProperty("code"u8, out JsonElement c))
        {
            int code = c.GetInt32();
            if (code is < 200 or > 599) throw new FormatException("Reply code out of range.");
            EnhancedStatusCode? esc = null;
            if (r.TryGetProperty("esc"u8, out JsonElement e))
            {
                esc = TryParseStatus(e.GetString(), out EnhancedStatusCode parsed) ? parsed : throw new FormatException("Bad enhanced status code.");
            }
            string text = r.TryGetProperty("text"u8, out JsonElement t) ? t.GetString() ?? "" : "";
            return state with
            {
                LastReply = RecipientQueueState.OneLine(code, esc, text),
                LastReplyCode = code,
                LastReplyStatus = esc,
                LastReplyText = text,
            };
        }
        if (r.TryGetProperty("reply"u8, out JsonElement reply) && reply.GetString() is { } line)
        {
            return SplitReply(state with { LastReply = line }, line);
        }
        return state;
    }

    /// <summary>Splits a version 1 reply line, <c>550 5.1.1 no such user</c>, into its parts where it has that shape
    /// (RFC 5321 §4.2 reply code, RFC 3463 enhanced code); otherwise only <see cref="RecipientQueueState.LastReply"/> is
    /// kept.</summary>
    private static RecipientQueueState SplitReply(RecipientQueueState state, string line)
    {
        if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out int code)
            || code is < 200 or > 599 || (line.Length > 3 && line[3] != ' '))
        {
            return state;
        }
        string rest = line.Length > 4 ? line[4..] : "";
        EnhancedStatusCode? esc = null;
        int space = rest.IndexOf(' ', StringComparison.Ordinal);
        string first = space < 0 ? rest : rest[..space];
        if (TryParseStatus(first, out EnhancedStatusCode parsed) && parsed.Class == code / 100)
        {
            esc = parsed;
            rest = space < 0 ? "" : rest[(space + 1)..];
        }
        return state with { LastReplyCode = code, LastReplyStatus = esc, LastReplyText = rest };
    }

    /// <summary>Parses <c>class.subject.detail</c> (RFC 3463 §2: class 2, 4 or 5, subject and detail 0–999).</summary>
    private static bool TryParseStatus(string? s, out EnhancedStatusCode status)
    {
        status = default;
        if (s is null) return false;
        string[] parts = s.Split('.');
        if (parts.Length != 3) return false;
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int c) || c is not (2 or 4 or 5)) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int subject) || subject > 999 || parts[1].Length > 3) return false;
        if (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int detail) || detail > 999 || parts[2].Length > 3) return false;
        status = new EnhancedStatusCode(c, subject, detail);
        return true;
    }

    private static Mailbox ReadMailbox(JsonElement e) =>
        new(e.GetProperty("l"u8).GetString() ?? throw new FormatException("No local part."),
            e.GetProperty("d"u8).GetString() ?? throw new FormatException("No domain."));
}
