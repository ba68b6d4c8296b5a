using System.CommandLine;
using System.Globalization;
using System.Text;
using Postbote.Host.Configuration;
using Postbote.Host.Control;
using Postbote.Tracing;

namespace Postbote.Host.Cli;

/// <summary>
/// <c>postbote trace &lt;queue ID | Message-ID&gt; [--json]</c>: the whole life of a message from the event store
/// <c>{data_dir}/trace</c>: received (client, HELO, TLS, AUTH user, Message-ID), policy decisions, commit, every delivery
/// attempt, notifications sent (and the notification's own life), queue actions, removal. Through the control socket
/// while the server runs (so that events still pending are written first), else from the files. One line per event,
/// or with <c>--json</c> one JSON object per line (<see cref="EventLine"/>). A summary goes to standard error, and a
/// progress line too when standard error is a terminal and the store is read from disk. Exit codes: 0 found, 1 nothing
/// found or the store cannot be read, 2 usage.
/// </summary>
internal static class TraceCommand
{
    /// <summary>The longest query in characters: 400 (a Message-ID is at most a 998-octet line, and real ones are far
    /// shorter).</summary>
    public const int MaxQuery = 400;

    /// <summary>Builds the command.</summary>
    /// <param name="inDataDirectory">Runs an action once the data directory is known to exist.</param>
    /// <param name="stdout">Standard output: the events.</param>
    /// <param name="stderr">Standard error: summary, progress, errors.</param>
    /// <returns>The command.</returns>
    public static Command Build(Func<ParseResult, Func<PostboteConfiguration, Task<int>>, Task<int>> inDataDirectory,
        TextWriter stdout, TextWriter stderr)
    {
        var query = new Argument<string>("QUERY") { Description = "a queue ID (as in 'postbote queue list' and the log) or a Message-ID, with or without <>" };
        var json = new Option<bool>("--json") { Description = "one JSON object per event and line, for scripts" };
        var trace = new Command("trace", "show the life of a message: reception, policy, commit, every delivery attempt, notifications, removal");
        trace.Arguments.Add(query);
        trace.Options.Add(json);
        trace.SetAction((r, ct) =>
        {
            string q = (r.GetValue(query) ?? "").Trim();
            if (q.Length == 0 || q.Length > MaxQuery || q.Any(ch => ch is <= ' ' or > '~'))
            {
                stderr.WriteLine($"postbote: \"{ControlProtocol.Printable(q, 40)}\" is neither a queue ID ({ControlProtocol.QueueIdShape}) nor a Message-ID (printable ASCII without spaces, at most {MaxQuery} characters)");
                return Task.FromResult(2);
            }
            bool asJson = r.GetValue(json);
            return inDataDirectory(r, c => RunAsync(c, q, asJson, stdout, stderr, ct));
        });
        return trace;
    }

    /// <summary>Looks the message up and prints its events.</summary>
    private static async Task<int> RunAsync(PostboteConfiguration config, string query, bool json, TextWriter stdout, TextWriter stderr,
        CancellationToken cancellationToken)
    {
        string socket = Path.Combine(Path.GetFullPath(config.DataDirectory), ControlProtocol.SocketFileName);
        var lines = new List<string>();
        string? status;
        try
        {
            status = await ControlClient.SendAsync(socket, new ControlRequest(ControlCommand.Trace) { Query = query }, lines.Add, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (IOException e)
        {
            stderr.WriteLine($"postbote: {socket}: {e.Message}");
            return 1;
        }
        List<TracedEvent> events;
        string summary;
        if (status is null)
        {
            TraceResult found;
            try
            {
                found = MessageEventStore.Find(config.TraceDirectory, query, Progress(stderr), cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"postbote: {Path.GetFullPath(config.TraceDirectory)}: {e.Message}");
                return 1;
            }
            events = found.Events.ToList();
            summary = string.Create(CultureInfo.InvariantCulture,
                $"read {found.Segments} segment(s), {found.Bytes} bytes, {found.Lines} event(s) from {Path.GetFullPath(config.TraceDirectory)} (the server is not running)");
        }
        else if (status.StartsWith(ControlProtocol.Ok, StringComparison.Ordinal))
        {
            events = [];
            foreach (string line in lines)
            {
                if (EventLine.TryParse(line, out TracedEvent? t)) events.Add(t);
            }
            summary = "through the running server: " + status[ControlProtocol.Ok.Length..].Trim();
        }
        else
        {
            int space = status.IndexOf(' ', StringComparison.Ordinal);
            stderr.WriteLine("postbote: " + (space > 0 ? status[(space + 1)..] : status));
            return 1;
        }
        if (events.Count == 0)
        {
            stderr.WriteLine($"postbote: no trace of {query} ({summary})");
            return 1;
        }
        foreach (TracedEvent e in events) stdout.WriteLine(json ? EventLine.Format(e) : Describe(e));
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"postbote: {events.Count} event(s) of {events.Select(e => e.Id).Distinct().Count()} message(s); {summary}"));
        return 0;
    }

    /// <summary>A progress line on a terminal, at most four times a second; nothing when standard error is not one.</summary>
    private static Action<long, long>? Progress(TextWriter stderr)
    {
        if (Console.IsErrorRedirected || !ReferenceEquals(stderr, Console.Error)) return null;
        long last = 0;
        return (done, total) =>
        {
            long now = Environment.TickCount64;
            if (now - last < 250 && done < total) return;
            last = now;
            stderr.Write(string.Create(CultureInfo.InvariantCulture,
                $"\rreading the trace: {(total == 0 ? 100 : done * 100 / total)}% ({done / 1048576.0:0.0} of {total / 1048576.0:0.0} MiB)"));
            if (done >= total) stderr.Write("\r\x1b[K");
        };
    }

    /// <summary>One event as a line: time (UTC), queue ID, what, details.</summary>
    /// <param name="t">The event.</param>
    /// <returns>The line, printable.</returns>
    public static string Describe(TracedEvent t)
    {
        MessageEvent e = t.Event;
        var d = new StringBuilder();
        void Add(string name, object? value)
        {
            if (value is null) return;
            if (d.Length > 0) d.Append(", ");
            d.Append(name).Append('=').Append(value is double x ? x.ToString("0.###", CultureInfo.InvariantCulture) : Convert.ToString(value, CultureInfo.InvariantCulture));
        }
        string what = e.Kind switch
        {
            MessageEventKind.Received => "received",
            MessageEventKind.Policy => "policy",
            MessageEventKind.Committed => "committed",
            MessageEventKind.Attempt => "attempt",
            MessageEventKind.DsnSent => "dsn sent",
            MessageEventKind.QueueAction => "queue " + e.Action,
            _ => "removed",
        };
        Add("client", e.Client);
        Add("helo", e.Helo);
        Add("tls", e.Tls);
        Add("user", e.User);
        Add("message-id", e.MessageId);
        Add("from", e.From);
        if (e.Recipients is { Count: > 0 } r) Add(e.Kind == MessageEventKind.Received ? "to" : "rcpt", string.Join(" ", r.Select(a => "<" + a + ">")));
        Add("size", e.Size);
        Add("stage", e.Stage);
        Add("attempt", e.Attempt);
        Add("host", e.Host);
        Add(e.Kind == MessageEventKind.Attempt ? "delay" : "seconds", e.Seconds);
        Add("result", e.Result);
        Add("reply", e.Reply);
        Add("related", e.Related);
        Add("reason", e.Reason);
        return ControlProtocol.Printable(string.Create(CultureInfo.InvariantCulture,
            $"{e.Time.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z  {t.Id.Value}  {what,-12} {d}"));
    }
}
