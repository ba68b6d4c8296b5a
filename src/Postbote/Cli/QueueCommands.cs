using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Host.Configuration;
using Postbote.Host.Control;
using Postbote.Queue;

namespace Postbote.Host.Cli;

/// <summary>
/// <c>postbote queue list | show ID | flush | retry ID | hold ID | release ID | delete ID</c>. While the server runs,
/// each goes through its control socket <c>{data_dir}/control.sock</c> (<see cref="ControlServer"/>): the spool has one
/// writer. When no server runs (no socket, or one that refuses connections), <c>list</c> and <c>show</c> read the spool
/// themselves and print the same text, and the commands that change the queue fail with "the server is not running".
/// Exit codes: 0 done, 1 refused or failed (no such message, not applicable, no server), 2 usage (a bad queue ID).
/// </summary>
internal static class QueueCommands
{
    /// <summary>Builds the <c>queue</c> command and its subcommands.</summary>
    /// <param name="inDataDirectory">Runs an action with the configuration once the data directory is known to exist
    /// (parse result, action) → exit code.</param>
    /// <param name="stdout">Standard output: the lists and what was done.</param>
    /// <param name="stderr">Standard error: why not.</param>
    /// <returns>The command.</returns>
    public static Command Build(Func<ParseResult, Func<PostboteConfiguration, Task<int>>, Task<int>> inDataDirectory,
        TextWriter stdout, TextWriter stderr)
    {
        var queue = new Command("queue", "look at and steer the queue (through the running server; list and show also without it)");
        Add(ControlCommand.List, "list queued messages: ID, age, size, sender, recipients with status, next attempt and last reply");
        Add(ControlCommand.Show, "show one message: envelope, each recipient's state, attempts, next attempt, last reply and remote host, then its headers");
        Add(ControlCommand.Flush, "make every deferred message due now (needs the running server)");
        Add(ControlCommand.Retry, "make one message's deferred recipients due now (needs the running server)");
        Add(ControlCommand.Hold, "put a message on hold: no delivery attempt until it is released (needs the running server)");
        Add(ControlCommand.Release, "release a held message: due now (needs the running server)");
        Add(ControlCommand.Delete, "remove a message from the queue without delivering it and without a bounce (needs the running server)");
        return queue;

        void Add(ControlCommand command, string description)
        {
            var sub = new Command(ControlProtocol.Verb(command), description);
            Argument<string>? idArgument = null;
            Argument<string[]>? idsArgument = null;
            if (command is ControlCommand.Show)
            {
                idArgument = new Argument<string>("ID") { Description = "the queue ID (as in 'postbote queue list' and the log)" };
                sub.Arguments.Add(idArgument);
            }
            else if (ControlRequest.TakesId(command))
            {
                idsArgument = new Argument<string[]>("ID")
                {
                    Description = "queue IDs (as in 'postbote queue list' and the log); '-' reads them from standard input, one per line, with progress and a summary",
                    Arity = ArgumentArity.OneOrMore,
                };
                sub.Arguments.Add(idsArgument);
            }
            sub.SetAction((r, ct) =>
            {
                QueueId? id = null;
                string[]? words = idsArgument is null ? null : r.GetValue(idsArgument);
                if (words is not null && (words.Length > 1 || words is ["-"]))
                    return inDataDirectory(r, c => QueueBatch.RunAsync(c, command, words, Console.In, stdout, stderr, ct));
                if (idArgument is not null || words is not null)
                {
                    string text = (idArgument is not null ? r.GetValue(idArgument) : words?.FirstOrDefault()) ?? "";
                    if (!ControlRequest.TryParseId(text, out id))
                    {
                        stderr.WriteLine($"postbote: \"{ControlProtocol.Printable(text, 40)}\" is not a queue ID ({ControlProtocol.QueueIdShape})");
                        return Task.FromResult(2);
                    }
                }
                var request = new ControlRequest(command, id);
                return inDataDirectory(r, c => RunAsync(c, request, stdout, stderr, ct));
            });
            queue.Subcommands.Add(sub);
        }
    }

    /// <summary>Carries out one request: through the server when it runs, else from the spool for list and show.</summary>
    /// <param name="config">The configuration; its data directory exists (checked by the caller).</param>
    /// <param name="request">The request.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <param name="fromSpool">The lines to print when no server runs, read from the spool, for a request that
    /// <see cref="FromSpool"/> does not know (<c>mailq</c>); <c>null</c> for the others.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(PostboteConfiguration config, ControlRequest request, TextWriter stdout, TextWriter stderr,
        CancellationToken cancellationToken, Func<IReadOnlyList<string>>? fromSpool = null)
    {
        string socket = Path.Combine(Path.GetFullPath(config.DataDirectory), ControlProtocol.SocketFileName);
        string? status;
        try
        {
            status = await ControlClient.SendAsync(socket, request, stdout.WriteLine, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            stderr.WriteLine($"postbote: {socket}: {e.Message}");
            return 1;
        }
        if (status is null && fromSpool is not null)
        {
            foreach (string line in fromSpool()) stdout.WriteLine(line);
            return 0;
        }
        if (status is null) return FromSpool(config, request, stdout, stderr);
        if (status == ControlProtocol.Ok) return 0;
        if (status.StartsWith(ControlProtocol.Ok + " ", StringComparison.Ordinal))
        {
            stdout.WriteLine(status[(ControlProtocol.Ok.Length + 1)..]);
            return 0;
        }
        int space = status.IndexOf(' ', StringComparison.Ordinal);
        stderr.WriteLine("postbote: " + (space > 0 ? status[(space + 1)..] : status));
        return 1;
    }

    /// <summary>No server runs: list and show read the spool (safe beside a server that starts meanwhile: reading only);
    /// every other command needs the server.</summary>
    private static int FromSpool(PostboteConfiguration config, ControlRequest request, TextWriter stdout, TextWriter stderr)
    {
        if (request.Command is not (ControlCommand.List or ControlCommand.Show))
        {
            stderr.WriteLine("postbote: the server is not running");
            return 1;
        }
        var options = new SpoolOptions { Directory = config.SpoolDirectory, CorruptDirectory = config.CorruptDirectory };
        if (!Directory.Exists(options.Directory))
        {
            if (request.Command == ControlCommand.List)
            {
                stdout.WriteLine("queue is empty");
                return 0;
            }
            stderr.WriteLine($"postbote: {request.Id}: not in the queue");
            return 1;
        }
        using var spool = new Spool(options, NullLogger<Spool>.Instance);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        if (request.Command == ControlCommand.List)
        {
            foreach (string line in QueueReport.List(spool.List(), now, QueueReport.CountSetAside(config.CorruptDirectory))) stdout.WriteLine(line);
            return 0;
        }
        if (spool.Read(request.Id!.Value) is not { } entry)
        {
            stderr.WriteLine($"postbote: {request.Id}: not in the queue");
            return 1;
        }
        foreach (string line in QueueReport.Show(entry, now)) stdout.WriteLine(line);
        return 0;
    }
}
