using System.Globalization;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Host.Control;

/// <summary>
/// The queue in the layout of Postfix's <c>postqueue -p</c> (what <c>mailq</c> prints there), for <c>mailq</c> and
/// <c>postbote sendmail -bp</c>: a heading; per message (oldest first) the queue ID with <c>!</c> when held, the size in
/// bytes, the arrival time (<c>Wed Dec  2 09:56:37</c>, UTC) and the sender (<c>MAILER-DAEMON</c> for the null
/// reverse-path); the last reply of a deferred recipient in parentheses on its own line, then the recipient indented to
/// the sender's column; an empty line after each message; and <c>-- N Kbytes in M Requests.</c> (Kbytes rounded up).
/// An empty queue is <c>Mail queue is empty</c>. Delivered and failed recipients are no longer shown, as in Postfix.
/// </summary>
public static class MailqReport
{
    /// <summary>The lines.</summary>
    /// <param name="entries">The messages.</param>
    /// <returns>The lines, without line ends; every line <see cref="ControlProtocol.Printable"/>.</returns>
    public static IReadOnlyList<string> Lines(IReadOnlyList<QueueEntryInfo> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0) return ["Mail queue is empty"];
        var lines = new List<string> { $"{"-Queue ID-",-17} {"--Size--",8} {"----Arrival Time----",-20} -Sender/Recipient-------" };
        foreach (QueueEntryInfo e in entries.OrderBy(e => e.ReceivedAt).ThenBy(e => e.Id.Value, StringComparer.Ordinal))
        {
            bool held = e.Recipients.Any(r => r.Status == DeliveryStatus.Held);
            string sender = e.ReversePath is "<>" or "" ? "MAILER-DAEMON" : e.ReversePath.Trim('<', '>');
            lines.Add(ControlProtocol.Printable(string.Create(CultureInfo.InvariantCulture,
                $"{e.Id.Value + (held ? "!" : ""),-17} {e.Size,8} {Arrival(e.ReceivedAt),20} {sender}")));
            for (int r = 0; r < e.Recipients.Count; r++)
            {
                Recipient recipient = e.Recipients[r];
                if (recipient.Status is DeliveryStatus.Delivered or DeliveryStatus.Failed) continue;
                RecipientQueueState state = r < e.States.Count ? e.States[r] : default;
                if (recipient.Status == DeliveryStatus.Deferred && state.LastReply is { } reply)
                    lines.Add(ControlProtocol.Printable($"({reply})"));
                lines.Add(ControlProtocol.Printable($"{"",48}{recipient.Address}"));
            }
            lines.Add("");
        }
        long kbytes = (entries.Sum(e => e.Size) + 1023) / 1024;
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"-- {kbytes} Kbytes in {entries.Count} Request{(entries.Count == 1 ? "" : "s")}."));
        return lines;
    }

    /// <summary>The arrival time as Postfix prints it (ctime(3) without the year), in UTC.</summary>
    private static string Arrival(DateTimeOffset at) =>
        at.UtcDateTime.ToString("ddd MMM ", CultureInfo.InvariantCulture)
        + at.UtcDateTime.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2)
        + at.UtcDateTime.ToString(" HH:mm:ss", CultureInfo.InvariantCulture);
}
