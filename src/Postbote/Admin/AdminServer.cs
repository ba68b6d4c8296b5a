using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Postbote.Queue;
using Postbote.Security.Users;
using Postbote.Tracing;

namespace Postbote.Host.Admin;

/// <summary>
/// The admin HTTP listener (<c>[admin] listen</c>, Kestrel): <c>/metrics</c> in the Prometheus text format (the
/// <see cref="PostboteMetrics"/> meter through OpenTelemetry's Prometheus exporter), the queue page (a static page
/// served from the executable's resources) and its JSON API under <c>/api/</c> (docs/admin-api.md).
/// </summary>
public sealed partial class AdminServer : IAsyncDisposable
{
    private readonly AdminOptions _options;
    private readonly IQueueControl _queue;
    private readonly MessageEventStore _trace;
    private readonly PostboteMetrics _metrics;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _log;
    private readonly AdminSessions _sessions;
    private WebApplication? _app;

    /// <summary>Creates the listener; <see cref="StartAsync"/> binds it.</summary>
    /// <param name="options">Addresses and allowed users.</param>
    /// <param name="queue">The queue the page shows and steers.</param>
    /// <param name="trace">The event store for the trace of a message.</param>
    /// <param name="metrics">The instruments (and the per-minute counts of the charts).</param>
    /// <param name="users">The user store the logins are checked against, or <c>null</c> (AUTH off: no login).</param>
    /// <param name="loggers">Logger factory.</param>
    public AdminServer(AdminOptions options, IQueueControl queue, MessageEventStore trace, PostboteMetrics metrics, IUserStore? users,
        ILoggerFactory loggers)
    {
        _options = options;
        _queue = queue;
        _trace = trace;
        _metrics = metrics;
        _loggers = loggers;
        _log = loggers.CreateLogger("Postbote.Admin");
        _sessions = new AdminSessions(options, users, TimeProvider.System);
    }

    /// <summary>The addresses bound, with the real port when 0 was configured.</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    /// <summary>Binds every address of <see cref="AdminOptions.Listen"/> and serves.</summary>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>A task that completes when listening.</returns>
    /// <exception cref="IOException">An address cannot be bound (in use, not local).</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(_loggers);
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 64 * 1024;
            foreach (IPEndPoint ep in _options.Listen) k.Listen(ep);
        });
        // The resource names the service, so target_info says service_name="postbote", not "unknown_service:…".
        builder.Services.AddOpenTelemetry().ConfigureResource(r => r.AddService("postbote")).WithMetrics(m => m.AddMeter(PostboteMetrics.MeterName)
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        WebApplication app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint("/metrics");
        app.Use(SecurityHeaders);
        MapPage(app);
        MapApi(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException(e.InnerException?.Message ?? e.Message, e);
        }
        _app = app;
        Addresses = app.Urls.ToList();
        _log.LogInformation("admin listener on {Addresses}: /metrics; queue page {Page}", string.Join(", ", Addresses),
            _sessions.Enabled ? "for " + string.Join(", ", _options.Users) : "off (no admin.users)");
    }

    /// <summary>Stops serving.</summary>
    /// <param name="cancellationToken">Gives up waiting for requests in progress.</param>
    /// <returns>A task that completes when stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops and releases the listener.</summary>
    /// <returns>A task that completes when released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync().ConfigureAwait(false);
        _app = null;
        _sessions.Dispose();
    }

    private static Task SecurityHeaders(HttpContext context, Func<Task> next)
    {
        IHeaderDictionary h = context.Response.Headers;
        h["X-Content-Type-Options"] = "nosniff";
        h["X-Frame-Options"] = "DENY";
        h["Referrer-Policy"] = "no-referrer";
        h["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
        h["Cache-Control"] = "no-store";
        return next();
    }

    /// <summary>The page: <c>/</c> (index.html), <c>/app.js</c>, <c>/app.css</c> from the executable's resources.</summary>
    private void MapPage(WebApplication app)
    {
        foreach (var (path, file, type) in new[]
        {
            ("/", "index.html", "text/html; charset=utf-8"),
            ("/app.js", "app.js", "text/javascript; charset=utf-8"),
            ("/app.css", "app.css", "text/css; charset=utf-8"),
        })
        {
            byte[] content = Resource(file);
            app.MapGet(path, (HttpContext c) => _sessions.Enabled
                ? Results.Bytes(content, type)
                : Results.Text("The queue page is off: no user is listed in [admin] users.\n", "text/plain; charset=utf-8", statusCode: 404));
        }
    }

    private static byte[] Resource(string name)
    {
        using Stream s = Assembly.GetExecutingAssembly().GetManifestResourceStream("admin/" + name)
            ?? throw new InvalidOperationException($"resource admin/{name} is missing from the executable");
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }
}
