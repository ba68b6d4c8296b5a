using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Postbote.Host;
using Postbote.Host.Configuration;
using Postbote.Queue;

return await Cli.RunAsync(args).ConfigureAwait(false);

/// <summary>
/// The <c>postbote</c> command line: <c>serve [--config FILE]</c> runs the server; <c>queue list [--config FILE]</c>
/// shows the queue. Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
/// </summary>
internal static class Cli
{
    private const string Usage = """
        usage: postbote serve [--config FILE]        run the mail server (without --config: embedded defaults)
               postbote queue list [--config FILE]   list queued messages: ID, age, size, sender, recipients, status
               postbote user add NAME [--address ADDR]... [--any-sender] [--config FILE]
               postbote user passwd NAME | user remove NAME | user list [--config FILE]
                                                    manage SMTP AUTH users; the password is read from the terminal or stdin
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        List<string> rest = args.ToList();
        string? configPath = null;
        int i = rest.IndexOf("--config");
        if (i >= 0)
        {
            if (i + 1 >= rest.Count) return Fail(Usage);
            configPath = rest[i + 1];
            rest.RemoveRange(i, 2);
        }
        PostboteConfiguration config;
        try
        {
            config = configPath is null ? ConfigurationLoader.Default() : ConfigurationLoader.Load(configPath);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"postbote: configuration {configPath}: {e.Message}");
            return 2;
        }
        return rest switch
        {
            ["serve"] => await ServeAsync(config).ConfigureAwait(false),
            ["queue", "list"] => QueueList(config),
            ["user", ..] => UserCommands.Run(rest.Skip(1).ToList(), config.DataDirectory, Console.In, Console.Out, Console.Error),
            ["help"] or ["--help"] or ["-h"] => Help(),
            [] => Fail(Usage),
            _ => Fail($"postbote: unknown command or argument '{string.Join(' ', rest)}'\n{Usage}"),
        };
    }

    private static int Help()
    {
        Console.WriteLine(Usage);
        return 0;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }

    private static async Task<int> ServeAsync(PostboteConfiguration config)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ContentRootPath = Directory.GetCurrentDirectory(), // relative data paths are taken from here
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(config.LogLevel);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.IncludeScopes = true;
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = config.Smtp.Limits.ShutdownTimeout + TimeSpan.FromSeconds(15));
        builder.Services.AddSingleton(config);
        builder.Services.AddHostedService<PostboteService>();
        using IHost host = builder.Build();
        try
        {
            await host.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"postbote: {e.Message}");
            return 1;
        }
    }

    private static int QueueList(PostboteConfiguration config)
    {
        var options = new SpoolOptions { Directory = config.SpoolDirectory, CorruptDirectory = config.CorruptDirectory };
        if (!Directory.Exists(options.Directory))
        {
            Console.WriteLine("queue is empty");
            return 0;
        }
        using var spool = new Spool(options, Microsoft.Extensions.Logging.Abstractions.NullLogger<Spool>.Instance);
        IReadOnlyList<QueueEntryInfo> entries = spool.List();
        if (entries.Count == 0)
        {
            Console.WriteLine("queue is empty");
            return 0;
        }
        DateTimeOffset now = DateTimeOffset.UtcNow;
        Console.WriteLine($"{"QUEUE ID",-16}  {"AGE",8}  {"SIZE",10}  SENDER / RECIPIENTS (STATUS)");
        foreach (QueueEntryInfo e in entries.OrderBy(e => e.ReceivedAt))
        {
            Console.WriteLine($"{e.Id,-16}  {Age(now - e.ReceivedAt),8}  {e.Size,10}  {e.ReversePath}");
            for (int r = 0; r < e.Recipients.Count; r++)
            {
                string status = e.Recipients[r].Status.ToString().ToLowerInvariant();
                string? reply = r < e.States.Count ? e.States[r].LastReply : null;
                Console.WriteLine($"{"",40}  <{e.Recipients[r].Address}> ({status}{(reply is null ? "" : ": " + reply)})");
            }
        }
        Console.WriteLine($"-- {entries.Count} message(s), {entries.Sum(e => e.Size).ToString(CultureInfo.InvariantCulture)} bytes");
        return 0;
    }

    private static string Age(TimeSpan t) =>
        t.TotalSeconds < 120 ? $"{(int)t.TotalSeconds}s" : t.TotalMinutes < 120 ? $"{(int)t.TotalMinutes}m" : t.TotalHours < 48 ? $"{(int)t.TotalHours}h" : $"{(int)t.TotalDays}d";
}
