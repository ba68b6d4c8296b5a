using System.Globalization;
using System.Text;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Host.Control;

/// <summary>
/// The text of <c>postbote queue list</c> and <c>postbote queue show ID</c>, the same whether the running server answers
/// through the control socket or the command reads the spool itself. Every line is <see cref="ControlProtocol.Printable"/>.
/// </summary>
public static class QueueReport
{
    /// <summary>The most of a message <c>show</c> reads for its header section, in bytes: 64 KiB. A header section that
    /// does not end within it is shown cut, with a line saying so.</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    /// <summary>The lines of <c>queue list</c>: a heading, per message (oldest first) ID, age, size and reverse-path,
    /// then each recipient with its status, the next attempt time when one is set, and the last reply; a closing count.
    /// An empty queue is the one line <c>queue is empty</c>.</summary>
    /// <param name="entries">The messages.</param>
    /// <param name="now">The current time, for the ages.</param>
    /// <param name="setAside">How many damaged records recovery set aside in <c>corrupt/</c>
    /// (<see cref="CountSetAside"/>); when not 0 a last line says so, since those messages are never delivered.</param>
    /// <returns>The lines, without line ends.</returns>
    public static IReadOnlyList<string> List(IReadOnlyList<QueueEntryInfo> entries, DateTimeOffset now, int setAside = 0)
    {
        ArgumentNullException.ThrowIfNull(entries);
        string? damage = setAside == 0 ? null : string.Create(CultureInfo.InvariantCulture,
            $"-- {setAside} damaged record(s) set aside in corrupt/, not delivered: each has a .txt note beside its bytes");
        if (entries.Count == 0) return damage is null ? ["queue is empty"] : ["queue is empty", damage];
        var lines = new List<string>(1 + entries.Count * 2) { $"{"QUEUE ID",-16}  {"AGE",8}  {"SIZE",10}  SENDER / RECIPIENTS (STATUS)" };
        foreach (QueueEntryInfo e in entries.OrderBy(e => e.ReceivedAt).ThenBy(e => e.Id.Value, StringComparer.Ordinal))
        {
            lines.Add(ControlProtocol.Printable(string.Create(CultureInfo.InvariantCulture,
                $"{e.Id,-16}  {Age(now - e.ReceivedAt),8}  {e.Size,10}  {e.ReversePath}")));
            for (int r = 0; r < e.Recipients.Count; r++)
            {
                RecipientQueueState state = r < e.States.Count ? e.States[r] : default;
                string status = Status(e.Recipients[r].Status);
                if (state.NextAttemptAt is { } next && e.Recipients[r].Status is DeliveryStatus.Queued or DeliveryStatus.Deferred)
                    status += ", next " + Time(next);
                if (state.LastReply is { } reply) status += ": " + reply;
                lines.Add(ControlProtocol.Printable($"{"",40}  <{e.Recipients[r].Address}> ({status})"));
            }
        }
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"-- {entries.Count} message(s), {entries.Sum(e => e.Size)} bytes"));
        if (damage is not null) lines.Add(damage);
        return lines;
    }

    /// <summary>How many damaged records the spool set aside: the <c>.txt</c> notes in the corrupt directory (one per
    /// record or body set aside, written with it).</summary>
    /// <param name="corruptDirectory">The spool's corrupt directory (<c>{data_dir}/corrupt</c>).</param>
    /// <returns>The count; 0 when the directory does not exist or cannot be read.</returns>
    public static int CountSetAside(string corruptDirectory)
    {
        try
        {
            return Directory.Exists(corruptDirectory) ? Directory.GetFiles(corruptDirectory, "*.txt").Length : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>The lines of <c>queue show ID</c>: the envelope (queue ID, reverse-path, arrival with the client,
    /// size, body type, DSN ENVID and RET of RFC 3461 §4.3–4.4), per recipient its state, attempts, next attempt, last
    /// reply, remote host and DSN parameters, then the message's header section as stored (up to the empty line that ends
    /// it, RFC 5322 §2.1; at most <see cref="MaxHeaderBytes"/>).</summary>
    /// <param name="entry">The message.</param>
    /// <param name="now">The current time, for the ages.</param>
    /// <returns>The lines, without line ends.</returns>
    public static IReadOnlyList<string> Show(SpoolEntry entry, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Envelope e = entry.Envelope;
        var lines = new List<string>
        {
            "queue ID:      " + e.Id,
            "reverse-path:  " + e.ReversePathText,
            $"received:      {Time(e.ReceivedAt)} ({Age(now - e.ReceivedAt)} ago) from {e.ClientAddress} (HELO {e.HeloName})",
            string.Create(CultureInfo.InvariantCulture, $"size:          {e.Size} bytes"),
            "body:          " + e.Body switch { BodyType.EightBitMime => "8BITMIME", BodyType.BinaryMime => "BINARYMIME", _ => "7BIT" }
                + (e.SmtpUtf8 ? ", SMTPUTF8" : ""),
            "DSN ENVID:     " + (e.EnvelopeId ?? "(none)"),
            "DSN RET:       " + e.Return switch { DsnReturn.Full => "FULL", DsnReturn.Headers => "HDRS", _ => "(not given)" },
        };
        for (int r = 0; r < e.Recipients.Count; r++)
        {
            Recipient recipient = e.Recipients[r];
            RecipientQueueState state = r < entry.States.Count ? entry.States[r] : default;
            lines.Add($"recipient <{recipient.Address}>");
            lines.Add("  state:         " + Status(recipient.Status));
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"  attempts:      {state.Attempts}"));
            lines.Add("  next attempt:  " + (state.NextAttemptAt is { } next ? Time(next) : "(none)"));
            lines.Add("  last attempt:  " + (state.LastAttemptAt is { } last ? Time(last) : "(none)"));
            lines.Add("  last reply:    " + (state.LastReply ?? "(none)"));
            lines.Add("  remote host:   " + (state.RemoteHost ?? "(none)"));
            lines.Add("  DSN NOTIFY:    " + Notify(recipient.Notify) + "; ORCPT " + (recipient.OriginalRecipient ?? "(none)"));
        }
        lines.Add("headers:");
        try
        {
            lines.AddRange(ReadHeaderSection(entry).Select(h => "  " + h));
        }
        catch (Exception x) when (x is IOException or UnauthorizedAccessException)
        {
            lines.Add("  (the message cannot be read: " + x.Message + ")");
        }
        return lines.Select(l => ControlProtocol.Printable(l)).ToList();
    }

    /// <summary>Reads the header section of a queued message: the lines before the first empty line, within the first
    /// <see cref="MaxHeaderBytes"/> of the body, decoded as UTF-8 (RFC 6532) with invalid bytes replaced.</summary>
    private static List<string> ReadHeaderSection(SpoolEntry entry)
    {
        int length = (int)Math.Min(entry.Envelope.MessageSize, MaxHeaderBytes);
        byte[] buffer = new byte[length];
        int n = 0;
        using (QueuedMessageStream message = entry.OpenMessage())
        {
            while (n < length)
            {
                int read = message.Read(buffer.AsSpan(n));
                if (read == 0) break;
                n += read;
            }
        }
        var lines = new List<string>();
        ReadOnlySpan<byte> rest = buffer.AsSpan(0, n);
        while (true)
        {
            int lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                if (n == MaxHeaderBytes && entry.Envelope.MessageSize > MaxHeaderBytes)
                    lines.Add(string.Create(CultureInfo.InvariantCulture, $"(the header section is cut here: it is longer than {MaxHeaderBytes} bytes)"));
                else if (!rest.IsEmpty)
                    lines.Add(Encoding.UTF8.GetString(rest)); // a message that is all header section
                break;
            }
            ReadOnlySpan<byte> line = rest[..lf];
            if (line.EndsWith("\r"u8)) line = line[..^1];
            if (line.IsEmpty) break;
            lines.Add(Encoding.UTF8.GetString(line));
            rest = rest[(lf + 1)..];
        }
        return lines;
    }

    private static string Status(DeliveryStatus status) => status.ToString().ToLowerInvariant();

    private static string Notify(DsnNotify notify) => notify == DsnNotify.Default
        ? "(not given)"
        : string.Join(',', new[] { DsnNotify.Never, DsnNotify.Success, DsnNotify.Failure, DsnNotify.Delay }
            .Where(f => notify.HasFlag(f)).Select(f => f.ToString().ToUpperInvariant()));

    /// <summary>A UTC time as <c>2025-06-01 12:05:00Z</c>.</summary>
    private static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Age(TimeSpan t)
    {
        if (t < TimeSpan.Zero) t = TimeSpan.Zero;
        return t.TotalSeconds < 120 ? $"{(int)t.TotalSeconds}s" : t.TotalMinutes < 120 ? $"{(int)t.TotalMinutes}m" : t.TotalHours < 48 ? $"{(int)t.TotalHours}h" : $"{(int)t.TotalDays}d";
    }
}
