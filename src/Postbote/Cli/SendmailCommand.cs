using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Host.Configuration;
using Postbote.Host.Control;
using Postbote.Host.Sendmail;
using Postbote.Queue;
using Postbote.Smtp;

namespace Postbote.Host.Cli;

/// <summary>
/// <c>postbote sendmail …</c>, and the executable invoked as <c>sendmail</c> or <c>mailq</c> (a symlink, as Postfix
/// installs them): the message on standard input goes to the local server over SMTP on its first <c>smtp.listen</c>
/// address (from loopback, a trusted client), with the configuration of <c>--config</c>, <c>$POSTBOTE_CONFIG</c> or
/// <c>/etc/postbote/postbote.toml</c>; when nothing listens there it is dropped into <c>{data_dir}/pickup/</c>,
/// which the server imports when it starts. <c>-bp</c> (and <c>mailq</c>) lists the queue as Postfix's
/// <c>postqueue -p</c>, <c>-q</c> flushes it, <c>-bs</c> speaks SMTP on standard input and output. Exit codes: 0 done
/// (sent or dropped), 1 refused or failed, 2 usage or configuration error.
/// </summary>
internal static class SendmailCommand
{
    /// <summary>The usage line.</summary>
    public const string Usage = "usage: postbote sendmail [--config FILE] [-t] [-f sender] [-i|-oi] [-F name] [-bs] [-bp] [-q] [--] recipients...";

    /// <summary>The name the executable was invoked under (argv[0] as exec'd, which a symlink keeps), without its
    /// folder: <c>sendmail</c> and <c>mailq</c> select this command.</summary>
    /// <returns>The file name, or an empty string when it cannot be read.</returns>
    public static string InvokedAs()
    {
        try
        {
            byte[] cmdline = File.ReadAllBytes("/proc/self/cmdline");
            int end = Array.IndexOf(cmdline, (byte)0);
            return Path.GetFileName(System.Text.Encoding.UTF8.GetString(cmdline, 0, end < 0 ? cmdline.Length : end));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Path.GetFileName(Environment.GetCommandLineArgs()[0]);
        }
    }

    /// <summary>Runs the command.</summary>
    /// <param name="args">The words after <c>sendmail</c>.</param>
    /// <param name="mailq">Whether invoked as <c>mailq</c>.</param>
    /// <param name="stdin">Standard input.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, bool mailq, Stream stdin, TextWriter stdout, TextWriter stderr)
    {
        if (args.Any(a => a is "--help" or "-h"))
        {
            stdout.WriteLine(Usage);
            return 0;
        }
        SendmailArguments a;
        PostboteConfiguration config;
        try
        {
            a = SendmailArguments.Parse(args, mailq);
        }
        catch (FormatException e)
        {
            stderr.WriteLine($"postbote: sendmail: {e.Message}");
            stderr.WriteLine(Usage);
            return 2;
        }
        try
        {
            a.ConfigFile ??= DefaultConfigFile();
            config = a.ConfigFile is null ? ConfigurationLoader.Default() : ConfigurationLoader.Load(a.ConfigFile);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"postbote: {Path.GetFullPath(a.ConfigFile!)}: {e.Message}");
            return 2;
        }
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        return a.Mode switch
        {
            SendmailMode.ListQueue => await ListAsync(config, stdout, stderr, cancel.Token).ConfigureAwait(false),
            SendmailMode.Flush => await QueueCommands.RunAsync(config, new ControlRequest(ControlCommand.Flush, null), stdout, stderr, cancel.Token).ConfigureAwait(false),
            SendmailMode.SmtpOnStandardInput => await RelaySmtpAsync(config, stdin, stderr, cancel.Token).ConfigureAwait(false),
            _ => await SendAsync(config, a, stdin, stdout, stderr, cancel.Token).ConfigureAwait(false),
        };
    }

    /// <summary>The installed configuration file, <c>/etc/postbote/postbote.toml</c>.</summary>
    public const string InstalledConfigFile = "/etc/postbote/postbote.toml";

    /// <summary>The configuration for a sendmail without <c>--config</c> (programs such as cron and mail(1) do not pass
    /// one): <c>$POSTBOTE_CONFIG</c>, else <see cref="InstalledConfigFile"/> when it exists, else none (the embedded
    /// default).</summary>
    private static string? DefaultConfigFile() =>
        Environment.GetEnvironmentVariable("POSTBOTE_CONFIG") is { Length: > 0 } fromEnvironment ? fromEnvironment
            : File.Exists(InstalledConfigFile) ? InstalledConfigFile : null;

    /// <summary>The domain for addresses without one: the host name when it is a local domain, else the first local
    /// domain.</summary>
    private static string LocalDomain(PostboteConfiguration c) =>
        c.Local.Domains.Contains(c.Smtp.HostName, StringComparer.OrdinalIgnoreCase) || c.Local.Domains.Count == 0 ? c.Smtp.HostName : c.Local.Domains[0];

    private static IPEndPoint? Server(PostboteConfiguration c) =>
        c.Smtp.Listeners.FirstOrDefault(l => l.Kind == ListenerKind.Mx)?.EndPoint;

    private static async Task<int> SendAsync(PostboteConfiguration c, SendmailArguments a, Stream stdin, TextWriter stdout, TextWriter stderr,
        CancellationToken cancellationToken)
    {
        long limit = c.Smtp.Limits.MessageSize;
        using var input = new MemoryStream();
        var buffer = new byte[64 * 1024];
        for (int n; (n = await stdin.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0;)
        {
            if (input.Length + n > limit)
            {
                stderr.WriteLine($"postbote: sendmail: the message is larger than limits.message_size ({limit} bytes)");
                return 1;
            }
            input.Write(buffer, 0, n);
        }
        string domain = LocalDomain(c);
        string sender = a.Sender ?? SendmailMessage.Qualify(Environment.UserName, domain);
        sender = SendmailMessage.Qualify(sender, domain);
        PickupFile message;
        try
        {
            message = SendmailMessage.Build(input.GetBuffer().AsSpan(0, (int)input.Length), a, sender, domain, DateTimeOffset.Now);
        }
        catch (FormatException e)
        {
            stderr.WriteLine($"postbote: sendmail: {e.Message}");
            return 2;
        }
        if (Server(c) is { } server && await SmtpSubmission.ConnectAsync(server, cancellationToken).ConfigureAwait(false) is { } socket)
        {
            SmtpSubmission.Result result;
            try
            {
                result = await SmtpSubmission.SubmitAsync(socket, c.Smtp.HostName, message, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                stderr.WriteLine($"postbote: sendmail: {server}: {e.Message}");
                return 1;
            }
            if (result.Accepted) return 0;
            stderr.WriteLine($"postbote: sendmail: {server}: {result.Reply}");
            return 1;
        }
        // Nothing listens: the server is down. The pickup folder keeps the message until it starts.
        string pickup = Path.Combine(Path.GetFullPath(c.DataDirectory), PickupFile.DirectoryName);
        try
        {
            string file = message.Write(pickup);
            stderr.WriteLine($"postbote: sendmail: the server is not running: the message waits in {file} and is queued when it starts");
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"postbote: sendmail: the server is not running and {pickup} cannot be written: {Startup.StartupChecks.Reason(e)}");
            return 1;
        }
    }

    private static async Task<int> ListAsync(PostboteConfiguration c, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        return await QueueCommands.RunAsync(c, new ControlRequest(ControlCommand.Mailq, null), stdout, stderr, cancellationToken, fromSpool: () =>
        {
            if (!Directory.Exists(c.SpoolDirectory)) return MailqReport.Lines([]);
            using var spool = new Spool(new SpoolOptions { Directory = c.SpoolDirectory, CorruptDirectory = c.CorruptDirectory }, NullLogger<Spool>.Instance);
            return MailqReport.Lines(spool.List());
        }).ConfigureAwait(false);
    }

    /// <summary><c>-bs</c>: the SMTP session of standard input and output, carried to the server and back.</summary>
    private static async Task<int> RelaySmtpAsync(PostboteConfiguration c, Stream stdin, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (Server(c) is not { } server || await SmtpSubmission.ConnectAsync(server, cancellationToken).ConfigureAwait(false) is not { } socket)
        {
            stderr.WriteLine("postbote: sendmail -bs: the server is not running");
            return 1;
        }
        using var network = new NetworkStream(socket, ownsSocket: true);
        using Stream stdout = Console.OpenStandardOutput();
        Task down = network.CopyToAsync(stdout, cancellationToken);
        Task up = Task.Run(async () =>
        {
            await stdin.CopyToAsync(network, cancellationToken).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
        }, cancellationToken);
        await down.ConfigureAwait(false);
        return 0;
    }
}
