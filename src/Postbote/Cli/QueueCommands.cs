using System.Globalization;
using Postbote.Host.Configuration;
using Postbote.Queue;

namespace Postbote.Host.Cli;

/// <summary><c>postbote queue …</c>: reads the spool of the configuration's data directory.</summary>
internal static class QueueCommands
{
    /// <summary><c>queue list</c>: one block per message: ID, age, size, sender, then each recipient with its status and
    /// last reply.</summary>
    /// <param name="config">The configuration; its data directory must exist (checked by the caller).</param>
    /// <param name="stdout">Where the list goes.</param>
    /// <returns>0.</returns>
    public static int List(PostboteConfiguration config, TextWriter stdout)
    {
        var options = new SpoolOptions { Directory = config.SpoolDirectory, CorruptDirectory = config.CorruptDirectory };
        if (!Directory.Exists(options.Directory))
        {
            stdout.WriteLine("queue is empty");
            return 0;
        }
        using var spool = new Spool(options, Microsoft.Extensions.Logging.Abstractions.NullLogger<Spool>.Instance);
        IReadOnlyList<QueueEntryInfo> entries = spool.List();
        if (entries.Count == 0)
        {
            stdout.WriteLine("queue is empty");
            return 0;
        }
        DateTimeOffset now = DateTimeOffset.UtcNow;
        stdout.WriteLine($"{"QUEUE ID",-16}  {"AGE",8}  {"SIZE",10}  SENDER / RECIPIENTS (STATUS)");
        foreach (QueueEntryInfo e in entries.OrderBy(e => e.ReceivedAt))
        {
            stdout.WriteLine($"{e.Id,-16}  {Age(now - e.ReceivedAt),8}  {e.Size,10}  {e.ReversePath}");
            for (int r = 0; r < e.Recipients.Count; r++)
            {
                string status = e.Recipients[r].Status.ToString().ToLowerInvariant();
                string? reply = r < e.States.Count ? e.States[r].LastReply : null;
                stdout.WriteLine($"{"",40}  <{e.Recipients[r].Address}> ({status}{(reply is null ? "" : ": " + reply)})");
            }
        }
        stdout.WriteLine($"-- {entries.Count} message(s), {entries.Sum(e => e.Size).ToString(CultureInfo.InvariantCulture)} bytes");
        return 0;
    }

    private static string Age(TimeSpan t) =>
        t.TotalSeconds < 120 ? $"{(int)t.TotalSeconds}s" : t.TotalMinutes < 120 ? $"{(int)t.TotalMinutes}m" : t.TotalHours < 48 ? $"{(int)t.TotalHours}h" : $"{(int)t.TotalDays}d";
}
