using System.CommandLine;
using Postbote.Host.Configuration;

namespace Postbote.Host.Cli;

/// <summary>
/// The <c>postbote</c> command line, parsed with System.CommandLine: <c>serve</c>, <c>reload</c>,
/// <c>queue list|show|flush|retry|hold|release|delete</c>, <c>trace ID|MESSAGE-ID [--json]</c>,
/// <c>user add|passwd|remove|list</c>, <c>dkim keygen</c>, each with <c>--help</c>; <c>--version</c>; <c>--config FILE</c> anywhere (without
/// it the embedded default). Every command but <c>serve</c> says on standard error which data directory it uses; the
/// commands that only read refuse a data directory that does not exist. Exit codes: 0 success, 1 runtime failure,
/// 2 usage or configuration error.
/// </summary>
internal static class PostboteCommandLine
{
    /// <summary>Parses and runs a command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        // Invoked as sendmail or mailq (a symlink, as Postfix installs them), or "postbote sendmail ...": sendmail(8)'s own
        // syntax, read by SendmailArguments rather than by the parser.
        string invokedAs = SendmailCommand.InvokedAs();
        if (invokedAs is "sendmail" or "mailq")
            return await SendmailCommand.RunAsync(args, invokedAs == "mailq", Console.OpenStandardInput(), stdout, stderr).ConfigureAwait(false);
        if (args is ["sendmail", .. var sendmailArgs])
            return await SendmailCommand.RunAsync(sendmailArgs, mailq: false, Console.OpenStandardInput(), stdout, stderr).ConfigureAwait(false);
        // "postbote help [COMMAND]" is the older spelling of --help.
        if (args is ["help", .. var topic]) args = [.. topic, "--help"];
        RootCommand root = Build(stdout, stderr);
        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (System.CommandLine.Parsing.ParseError error in result.Errors) stderr.WriteLine("postbote: " + error.Message);
            string command = string.Join(' ', CommandPath(result.CommandResult.Command, root));
            stderr.WriteLine($"see 'postbote{(command.Length > 0 ? " " + command : "")} --help'");
            return 2;
        }
        // No termination handling by the parser: serve drains on SIGTERM through the host, on its own timeout.
        return await result.InvokeAsync(new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        }).ConfigureAwait(false);
    }

    private static IEnumerable<string> CommandPath(Command command, RootCommand root)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null && c != root; c = c.Parents.OfType<Command>().FirstOrDefault()) names.Insert(0, c.Name);
        return names;
    }

    private static RootCommand Build(TextWriter stdout, TextWriter stderr)
    {
        var config = new Option<string?>("--config")
        {
            Description = "the TOML configuration file (without it: the embedded default, data in ./data)",
            HelpName = "FILE",
            Recursive = true,
        };
        var root = new RootCommand("Postbote, a mail server: receives mail over SMTP, queues it durably, delivers it into Maildirs.");
        root.Options.Add(config);

        var serve = new Command("serve", "run the mail server until SIGTERM (drains) or SIGINT; SIGHUP re-reads the configuration and the TLS certificate");
        serve.SetAction(async (r, _) => WithConfiguration(r, config, stderr, out PostboteConfiguration? c) is { } failed
            ? failed : await ServeCommand.RunAsync(c!).ConfigureAwait(false));
        root.Subcommands.Add(serve);

        var reload = new Command("reload", "send SIGHUP to the server running on the data directory (the PID in its postbote.lock): it re-reads the configuration (aliases, domains, relay, queue timings) and the TLS certificate without dropping sessions");
        reload.SetAction(r => ReloadCommand.CheckFile(r.GetValue(config), stdout, stderr)
            ?? WithDataDirectory(r, config, stderr, mustExist: true, c => ReloadCommand.Run(c, stdout, stderr)));
        root.Subcommands.Add(reload);

        // Listed for --help; "postbote sendmail ..." is read before the parser (sendmail(8)'s syntax).
        root.Subcommands.Add(new Command("sendmail",
            "sendmail(8) for cron, mail(1) and scripts: [-t] [-f sender] [-i|-oi] [-F name] [-bs] [-bp] [-q] recipients...; also when invoked as 'sendmail' or 'mailq'"));
        root.Subcommands.Add(ConfigCommands.CheckConfig(config, stdout, stderr));
        root.Subcommands.Add(ConfigCommands.ShowConfig(config, stdout, stderr));

        root.Subcommands.Add(QueueCommands.Build(
            (r, run) => WithDataDirectoryAsync(r, config, stderr, run), stdout, stderr));

        root.Subcommands.Add(TraceCommand.Build((r, run) => WithDataDirectoryAsync(r, config, stderr, run), stdout, stderr));

        root.Subcommands.Add(UserCommands.Build(
            (r, mustExist, run) => WithDataDirectory(r, config, stderr, mustExist, c => run(c.DataDirectory)), stdout, stderr));
        root.Subcommands.Add(DkimCommands.Build(
            (r, run) => WithConfiguration(r, config, stderr, out PostboteConfiguration? c) is { } failed ? failed : run(c!),
            (r, run) => WithDataDirectory(r, config, stderr, mustExist: false, run), stdout, stderr));
        return root;
    }

    /// <summary>Loads the configuration named by <c>--config</c> (or the embedded default).</summary>
    /// <returns><c>null</c> on success, else the exit code 2 after the error was printed.</returns>
    private static int? WithConfiguration(ParseResult r, Option<string?> option, TextWriter stderr, out PostboteConfiguration? config)
    {
        string? path = r.GetValue(option);
        try
        {
            config = path is null ? ConfigurationLoader.Default() : ConfigurationLoader.Load(path);
            foreach (string warning in config.Warnings) stderr.WriteLine("postbote: warning: " + warning);
            return null;
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"postbote: {Path.GetFullPath(path!)}: {e.Message}");
            config = null;
            return 2;
        }
    }

    /// <summary>As <see cref="WithDataDirectory"/> for a command that must find the data directory, with an asynchronous
    /// action.</summary>
    private static async Task<int> WithDataDirectoryAsync(ParseResult r, Option<string?> option, TextWriter stderr,
        Func<PostboteConfiguration, Task<int>> run)
    {
        PostboteConfiguration? found = null;
        int code = WithDataDirectory(r, option, stderr, mustExist: true, c =>
        {
            found = c;
            return 0;
        });
        return found is null ? code : await run(found).ConfigureAwait(false);
    }

    /// <summary>Loads the configuration, says which data directory the command uses, and refuses a missing one when the
    /// command only reads.</summary>
    private static int WithDataDirectory(ParseResult r, Option<string?> option, TextWriter stderr, bool mustExist,
        Func<PostboteConfiguration, int> run)
    {
        if (WithConfiguration(r, option, stderr, out PostboteConfiguration? config) is { } failed) return failed;
        string dataDirectory = Path.GetFullPath(config!.DataDirectory);
        string origin = "data_dir of " + (config.Source == "embedded default" ? "the embedded default" : config.Source);
        if (!Directory.Exists(dataDirectory))
        {
            if (mustExist)
            {
                stderr.WriteLine($"postbote: data directory {dataDirectory} ({origin}) does not exist; run where the server runs, or give --config FILE");
                return 1;
            }
            stderr.WriteLine($"postbote: data directory {dataDirectory} ({origin}) does not exist yet: creating it");
        }
        else
        {
            stderr.WriteLine($"postbote: data directory {dataDirectory} ({origin})");
        }
        return run(config);
    }
}
