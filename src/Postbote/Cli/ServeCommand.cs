using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Postbote.Host.Configuration;
using Postbote.Host.Logging;
using Postbote.Host.Startup;

namespace Postbote.Host.Cli;

/// <summary>
/// <c>postbote serve</c>: runs the server on the Generic Host until SIGTERM or SIGINT. A start-up failure is one line on
/// standard error (<c>postbote: SETTING VALUE: reason</c>), exit code 2 for configuration and 1 for the environment, with
/// the stack trace only at log level debug or trace.
/// </summary>
internal static class ServeCommand
{
    /// <summary>Runs the server.</summary>
    /// <param name="config">The configuration.</param>
    /// <returns>0 after a clean stop; 1 or 2 when it could not start.</returns>
    public static async Task<int> RunAsync(PostboteConfiguration config)
    {
        bool debug = config.LogLevel <= LogLevel.Debug;
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ContentRootPath = Directory.GetCurrentDirectory(), // relative data paths are taken from here
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(config.LogLevel);
        // The host's own lines (content root, environment, "press Ctrl+C") say nothing about mail; its report of a failed
        // start repeats, with a stack trace, the one line printed below.
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.None);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", debug ? LogLevel.Debug : LogLevel.None);
        // Under systemd: READY=1 once started (Type=notify), STOPPING=1 on SIGTERM; entries go to the journal with their
        // fields (QUEUE_ID) when it is there, else lines on standard output.
        // systemd's notify protocol (sd_notify(3)) needs only NOTIFY_SOCKET: the service manager sets it for Type=notify.
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")))
        {
            builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
            builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }
        if (JournalWriter.IsAvailable())
        {
            builder.Logging.AddProvider(new JournalLoggerProvider(new JournalWriter()));
        }
        else
        {
            builder.Logging.AddConsole(o => o.FormatterName = PlainConsoleFormatter.FormatterName);
            builder.Services.AddSingleton<ConsoleFormatter>(new PlainConsoleFormatter(includeStackTraces: debug));
        }
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = config.Smtp.Limits.ShutdownTimeout + TimeSpan.FromSeconds(15));
        builder.Services.AddSingleton(config);
        builder.Services.AddHostedService<PostboteService>();
        Exception? failure = null;
        using (IHost host = builder.Build())
        {
            try
            {
                await host.RunAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failure = e is AggregateException { InnerExceptions.Count: 1 } one ? one.InnerException! : e;
            }
        }
        // The host (and its console logger) is disposed: the line below comes after everything it logged.
        if (failure is null) return 0;
        if (failure is StartupException startup)
        {
            Console.Error.WriteLine("postbote: " + startup.Message);
            if (debug && startup.InnerException is not null) Console.Error.WriteLine(startup.InnerException);
            return startup.ExitCode;
        }
        Console.Error.WriteLine($"postbote: start-up failed: {failure.GetType().Name}: {failure.Message.ReplaceLineEndings(" ")}");
        if (debug) Console.Error.WriteLine(failure);
        return StartupException.EnvironmentExitCode;
    }
}
