using System.Diagnostics;
using System.Globalization;
using Postbote.Core;
using Postbote.Host.Configuration;
using Postbote.Host.Control;

namespace Postbote.Host.Cli;

/// <summary>
/// <c>postbote queue retry|hold|release|delete ID ID …</c> or <c>… -</c> (IDs on standard input, one per line, e.g.
/// from <c>postbote queue list</c> through awk): one control request per ID, with progress on standard error (at most
/// once a second, and at the end) and a summary on standard output: how many were done, not in the queue, refused or
/// failed, in how many seconds. Exit code 0 when every ID was done, 1 when any was not, 2 when a word is not a queue ID
/// (then nothing is done).
/// </summary>
internal static class QueueBatch
{
    /// <summary>The most IDs one run takes: 1,000,000.</summary>
    public const int MaxIds = 1_000_000;

    /// <summary>How often progress is written: once a second.</summary>
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);

    /// <summary>Runs the batch.</summary>
    /// <param name="config">The configuration; its data directory exists.</param>
    /// <param name="command">Retry, hold, release or delete.</param>
    /// <param name="words">The IDs, or the single word <c>-</c>.</param>
    /// <param name="stdin">Where <c>-</c> reads from.</param>
    /// <param name="stdout">The summary.</param>
    /// <param name="stderr">Progress and the reasons of failures.</param>
    /// <param name="cancellationToken">Stops between requests.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(PostboteConfiguration config, ControlCommand command, IReadOnlyList<string> words, TextReader stdin,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        IEnumerable<string> source = words is ["-"] ? ReadLines(stdin) : words;
        var ids = new List<QueueId>();
        foreach (string w in source.Select(w => w.Trim()).Where(w => w.Length > 0))
        {
            if (!ControlRequest.TryParseId(w, out QueueId? id))
            {
                stderr.WriteLine($"postbote: \"{ControlProtocol.Printable(w, 40)}\" is not a queue ID ({ControlProtocol.QueueIdShape}); nothing done");
                return 2;
            }
            if (ids.Count == MaxIds)
            {
                stderr.WriteLine($"postbote: more than {MaxIds} IDs; nothing done");
                return 2;
            }
            ids.Add(id!.Value);
        }
        string verb = ControlProtocol.Verb(command);
        string socket = Path.Combine(Path.GetFullPath(config.DataDirectory), ControlProtocol.SocketFileName);
        int done = 0, missing = 0, refused = 0, failed = 0;
        var clock = Stopwatch.StartNew();
        TimeSpan lastProgress = TimeSpan.Zero;
        for (int i = 0; i < ids.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? status;
            try
            {
                status = await ControlClient.SendAsync(socket, new ControlRequest(command, ids[i]), static _ => { }, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                status = "no " + e.Message;
            }
            if (status is null)
            {
                stderr.WriteLine($"postbote: the server is not running; {verb}: {done} of {ids.Count} done before it stopped");
                return 1;
            }
            if (status == ControlProtocol.Ok || status.StartsWith(ControlProtocol.Ok + " ", StringComparison.Ordinal)) done++;
            else if (status.EndsWith("not in the queue", StringComparison.Ordinal)) missing++;
            else if (status.StartsWith("no ", StringComparison.Ordinal) && !status.Contains("error", StringComparison.OrdinalIgnoreCase)) refused++;
            else
            {
                failed++;
                stderr.WriteLine($"postbote: {verb} {ids[i]}: {status}");
            }
            if (clock.Elapsed - lastProgress >= ProgressInterval || i == ids.Count - 1)
            {
                lastProgress = clock.Elapsed;
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"postbote: {verb}: {i + 1}/{ids.Count} ({100L * (i + 1) / ids.Count}%)"));
            }
        }
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{verb}: {done} done, {missing} not in the queue, {refused} refused, {failed} failed ({ids.Count} IDs in {clock.Elapsed.TotalSeconds:0.0} s)"));
        return done == ids.Count ? 0 : 1;
    }

    private static IEnumerable<string> ReadLines(TextReader reader)
    {
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine()) yield return line;
    }
}
