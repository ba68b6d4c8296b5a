using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.Runtime.InteropServices;
using Postbote.Core;
using Postbote.Delivery;
using Postbote.Delivery.Dsn;
using Postbote.Delivery.Smtp;
using Postbote.Dns;
using Postbote.IO;
using Postbote.MailStore;
using Postbote.Net;
using Postbote.Host.Configuration;
using Postbote.Host.Control;
using Postbote.Pop3;
using Postbote.Host.Startup;
using Postbote.Queue;
using Postbote.Routing;
using Postbote.Security;
using Postbote.Security.Sasl;
using Postbote.Security.Users;
using Postbote.Smtp;
using Postbote.Tracing;
using Postbote.Host.Admin;

namespace Postbote.Host;

/// <summary>
/// The running mail server, composed in one place: spool, scheduler with the delivery router and the Maildir agent,
/// the control socket, inbound policy, the SMTP service and the POP3 service over the same Maildirs. Starts them in
/// dependency order (recovery before listening) and stops them in reverse (POP3 and SMTP drain first, then the control
/// socket closes, then deliveries finish).
/// </summary>
public sealed partial class PostboteService : IHostedService, IAsyncDisposable
{
    private readonly PostboteConfiguration _config;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _log;
    private Spool? _spool;
    private DurabilityBarrier? _maildirBarrier;
    private QueueScheduler? _scheduler;
    private SmtpDeliveryAgent? _relay;
    private SmtpServer? _smtp;
    private PolicyChain? _policy;
    private Pop3Server? _pop3;
    private TlsCertificateProvider? _tls;
    private PosixSignalRegistration? _sighup;
    private DataDirectoryLock? _lock;
    private ControlServer? _control;
    private MessageEventStore? _trace;
    private PostboteMetrics? _metrics;
    private AdminServer? _admin;
    private Postbote.Host.Sendmail.PickupImporter? _pickup;
    private ReloadableLocalRecipients? _recipients;

    /// <summary>Creates the service.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="loggers">Logger factory.</param>
    public PostboteService(PostboteConfiguration config, ILoggerFactory loggers)
    {
        _config = config;
        _loggers = loggers;
        _log = loggers.CreateLogger("Postbote");
    }

    /// <summary>The SMTP service once started.</summary>
    public SmtpServer? Smtp => _smtp;

    /// <summary>The admin HTTP listener once started, or <c>null</c> with <c>[admin] listen = []</c>.</summary>
    public AdminServer? Admin => _admin;

    /// <summary>The POP3 service once started, or <c>null</c> without POP3 listeners.</summary>
    public Pop3Server? Pop3 => _pop3;

    /// <summary>Checks the data directory, the Maildir root and the TLS files, recovers the spool, starts deliveries,
    /// then opens the SMTP listeners (all or none).</summary>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>A task that completes when the server listens.</returns>
    /// <exception cref="StartupException">The set-up is wrong: the message is one line naming the setting, the path or
    /// address and the reason; its exit code is 2 for configuration, 1 for the environment.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await StartCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ListenerBindException e)
        {
            string setting = e.Listener.Kind switch
            {
                ListenerKind.Submission => "smtp.submission",
                ListenerKind.Submissions => "smtp.submissions",
                _ => "smtp.listen",
            };
            throw new StartupException($"{setting} {e.Listener.EndPoint}: cannot listen: {e.InnerException?.Message}",
                StartupException.EnvironmentExitCode, e);
        }
        catch (EndPointBindException e)
        {
            Pop3ListenerOptions l = _config.Pop3.Listeners[e.Index];
            throw new StartupException($"{(l.ImplicitTls ? "pop3.listen_tls" : "pop3.listen")} {l.EndPoint}: cannot listen: {e.Error.Message}",
                StartupException.EnvironmentExitCode, e);
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        var c = _config;
        _log.LogInformation("configuration: {Source}; host name {HostName}; data in {DataDir}; local domains {Domains}; catch-all {CatchAll}; trusted networks {Trusted}; message size limit {Size} bytes",
            c.Source, c.Smtp.HostName, Path.GetFullPath(c.DataDirectory), string.Join(", ", c.Local.Domains), c.Local.CatchAll ?? "(none)",
            c.Smtp.TrustedNetworks.Count == 0 ? "(none)" : string.Join(", ", c.Smtp.TrustedNetworks), c.Smtp.Limits.MessageSize);
        DataDirectoryLock.RestrictFileModes();
        StartupChecks.EnsureWritableDirectory("data_dir", c.DataDirectory);
        try
        {
            _lock = DataDirectoryLock.Acquire(c.DataDirectory);
        }
        catch (IOException e)
        {
            throw new StartupException("data_dir " + e.Message, StartupException.EnvironmentExitCode, e);
        }
        // Found now rather than at the first delivery.
        StartupChecks.EnsureWritableDirectory("local.maildir_root", c.Local.MaildirRoot);
        if (c.TlsEnabled)
        {
            _tls = LoadTls(c);
            _log.LogInformation(c.TlsLegacyCiphersOnMx
                ? "TLS cipher suites: AEAD only on submission listeners; MX listeners also accept CBC and RSA key exchange (tls.legacy_ciphers_on_mx)"
                : "TLS cipher suites: AEAD only (TLS 1.3; TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305)");
        }
        // DKIM and ARC keys: read once now, so that a bad key file stops the start with one line.
        c.Relay.Signing = OutboundSigningSetup.Build(c, _loggers);
        // The message trace ({data_dir}/trace) and the instruments, handed to every part that reports.
        c.Trace.Directory = c.TraceDirectory;
        _trace = new MessageEventStore(c.Trace, _loggers.CreateLogger<MessageEventStore>());
        try
        {
            _trace.Start();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"data_dir {Path.GetFullPath(c.TraceDirectory)}: {StartupChecks.Reason(e)}", StartupException.EnvironmentExitCode, e);
        }
        _metrics = new PostboteMetrics();
        var spoolOptions = new SpoolOptions { Directory = c.SpoolDirectory, CorruptDirectory = c.CorruptDirectory };
        _spool = new Spool(spoolOptions, _loggers.CreateLogger<Spool>());
        _maildirBarrier = new DurabilityBarrier(c.Local.MaildirRoot, spoolOptions.SyncMode);
        var recipients = _recipients = new ReloadableLocalRecipients(new LocalRecipients(c.Local));
        var maildir = new MaildirDeliveryAgent(c.Local, _maildirBarrier, _loggers.CreateLogger<MaildirDeliveryAgent>(), c.Smtp.HostName);
        // Mail for other domains goes to its [relay.transports] entry, the smarthost, or the domain's mail exchangers found
        // through the [dns] resolvers; HELO is [relay] helo_name, else our hostname. A local domain with a transport (LMTP
        // to Dovecot) goes there. Loops: a server that names itself with our hostname, or an exchanger at one of our own
        // listeners (the configured endpoints now, the bound ones once they listen), or a message past the hop count.
        c.Relay.HeloName = c.HeloName ?? c.Smtp.HostName;
        c.Relay.OwnHostName = c.Smtp.HostName;
        c.Relay.HopCountLimit = c.Smtp.Limits.HopCountLimit;
        c.Relay.OwnEndpoints.Set(c.Smtp.Listeners.Select(l => l.EndPoint));
        var dns = new DnsResolver(c.Dns, TimeProvider.System, _loggers.CreateLogger<DnsResolver>());
        _relay = new SmtpDeliveryAgent(dns, c.Relay, _loggers.CreateLogger<SmtpDeliveryAgent>());
        var router = new DeliveryRouter(recipients, maildir, _loggers.CreateLogger<DeliveryRouter>(), _relay, c.Relay.Transports);
        // Destination queues: one per next hop (a transport or the smarthost, else the remote domain and its MX); local
        // Maildir recipients are in none (no concurrency limit, no back-off).
        c.Queue.Destination ??= m =>
        {
            if (recipients.Classify(m) != RecipientKind.Remote)
                return c.Relay.Transports.Find(m.Domain)?.ToString();
            return (c.Relay.Transports.Find(m.Domain) ?? c.Relay.Smarthost)?.ToString() ?? m.Domain.ToLowerInvariant();
        };
        // Bounces, delay and success notices (RFC 3464) go back into the spool from the null reverse-path.
        var notifier = new DsnNotifier(new DsnOptions { HostName = c.Smtp.HostName, MessageLifetime = c.Queue.MaxLifetime },
            _spool, _loggers.CreateLogger<DsnNotifier>(), events: _trace);
        _scheduler = new QueueScheduler(_spool, router, c.Queue, _loggers.CreateLogger<QueueScheduler>(), notifier: notifier,
            events: _trace, metrics: _metrics);
        QueueScheduler scheduler = _scheduler;
        _metrics.ObserveQueueSize(() => scheduler.List().SelectMany(m => m.Recipients)
            .Where(r => r.Status is DeliveryStatus.Queued or DeliveryStatus.Deferred or DeliveryStatus.Held)
            .GroupBy(r => r.Status.ToString().ToLowerInvariant())
            .Select(g => new KeyValuePair<string, long>(g.Key, g.LongCount())));
        await _scheduler.StartAsync(cancellationToken).ConfigureAwait(false);
        // The control socket steers the queue through the scheduler, the spool's one writer.
        _control = new ControlServer(c.DataDirectory, _scheduler, _loggers.CreateLogger<ControlServer>(), trace: _trace);
        try
        {
            await _control.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The message starts with the socket's path in the data directory.
            throw new StartupException("data_dir " + (e is IOException ? e.Message : $"{_control.SocketPath}: {StartupChecks.Reason(e)}"),
                StartupException.EnvironmentExitCode, e);
        }
        // Messages that sendmail dropped while the server was down, then every second.
        _pickup = new Postbote.Host.Sendmail.PickupImporter(c.DataDirectory, _spool, c.Smtp.HostName, c.Smtp.Limits.MessageSize,
            _loggers.CreateLogger<Postbote.Host.Sendmail.PickupImporter>());
        await _pickup.StartAsync(cancellationToken).ConfigureAwait(false);
        // SIGHUP (postbote reload) re-reads the configuration, the certificate and the DKIM keys; open sessions keep theirs
        // (the default action, ending the process, is cancelled).
        _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true;
            Reload();
            if (c.Relay.Signing is { } signing) OutboundSigningSetup.Reload(c, signing, _log);
        });
        bool pop3 = c.Pop3.Listeners.Count > 0;
        if (pop3 && !c.AuthEnabled)
            throw new StartupException("pop3.listen: POP3 logins need the user store: set auth.enabled = true or remove the [pop3] listeners",
                StartupException.ConfigurationExitCode);
        if (_tls is null && c.Pop3.Listeners.Any(l => l.ImplicitTls))
            throw new StartupException("pop3.listen_tls needs TLS (tls.enabled = true)", StartupException.ConfigurationExitCode);
        IUserStore? users = null;
        SmtpAuthentication? auth = null;
        if (c.AuthEnabled)
        {
            users = new FileUserStore(c.DataDirectory, _loggers.CreateLogger<FileUserStore>());
            var limiter = new AuthFailureLimiter(new AuthFailureLimiterOptions
            {
                MaxFailures = c.AuthMaxFailures,
                Window = c.AuthFailureWindow,
                BlockTime = c.AuthBlockTime,
            }, TimeProvider.System, _loggers.CreateLogger<AuthFailureLimiter>());
            auth = new SmtpAuthentication(new SaslMechanisms(users, ScramServerSecret.LoadOrCreate(c.DataDirectory)), limiter,
                ScramPlusOnTls13: c.AuthScramPlusTls13);
            _log.LogInformation("SMTP AUTH enabled with {Users} user(s) from {File}", users.List().Count, Path.GetFullPath(c.UsersFile));
        }
        // SMTP-after-POP: a POP3 login opens relaying for its address for smtp_after_pop seconds (off at 0).
        SmtpAfterPopWindow? smtpAfterPop = pop3 && c.Pop3.SmtpAfterPop > TimeSpan.Zero ? new SmtpAfterPopWindow(c.Pop3.SmtpAfterPop, TimeProvider.System) : null;
        // The admin listener before SMTP: a server that answers SMTP also answers /metrics.
        if (c.Admin.Listen.Count > 0)
        {
            _admin = new AdminServer(c.Admin, _scheduler, _trace, _metrics, users, _loggers);
            try
            {
                await _admin.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new StartupException($"admin.listen {string.Join(", ", c.Admin.Listen)}: cannot listen: {e.Message}",
                    StartupException.EnvironmentExitCode, e);
            }
        }
        var sink = new BudgetedMessageSink(_spool, new BodyMemoryBudget(c.Smtp.Limits.MaxBodyMemory));
        PolicyChain policy = InboundPolicies.Build(c, new RelayPolicy(recipients, users, smtpAfterPop), dns, _loggers, TimeProvider.System);
        _policy = policy;
        _smtp = new SmtpServer(c.Smtp, policy, sink, _loggers, TimeProvider.System, _tls, auth, _trace, _metrics);
        await _smtp.StartAsync(cancellationToken).ConfigureAwait(false);
        c.Relay.OwnEndpoints.Set(_smtp.BoundEndpoints);
        if (pop3) StartPop3(c, auth!, smtpAfterPop);
    }

    /// <summary>Starts the POP3 service over the Maildirs local delivery writes, with the SASL mechanisms and the failure
    /// limiter of SMTP AUTH (one instance: guesses count across both protocols) and the connection limits of
    /// <c>[limits]</c>.</summary>
    private void StartPop3(PostboteConfiguration c, SmtpAuthentication auth, SmtpAfterPopWindow? smtpAfterPop)
    {
        Pop3ServerOptions o = c.Pop3;
        o.HostName = c.Smtp.HostName;
        SmtpServerLimits l = c.Smtp.Limits;
        o.Limits.CommandLineTimeout = l.CommandLineTimeout;
        o.Limits.MaxConnections = l.MaxConnections;
        o.Limits.MaxConnectionsPerIp = l.MaxConnectionsPerIp;
        o.Limits.MaxErrors = l.MaxErrors;
        o.Limits.ShutdownTimeout = l.ShutdownTimeout;
        _pop3 = new Pop3Server(o, new Pop3Authentication(auth.Mechanisms, auth.Limiter, auth.ScramPlusOnTls13),
            new MaildirMaildropStore(new MaildirStore(c.Local.MaildirRoot, c.Smtp.HostName)), _loggers, TimeProvider.System, _tls, smtpAfterPop);
        _pop3.Start();
        if (smtpAfterPop is not null)
            _log.LogInformation("SMTP-after-POP: a POP3 login lets its address relay for {Seconds} s (pop3.smtp_after_pop)", o.SmtpAfterPop.TotalSeconds);
    }

    /// <summary>Loads the TLS certificate: configured files are checked first, so that each fault names its setting;
    /// without configured files a self-signed certificate is created in the data directory when missing.</summary>
    private TlsCertificateProvider LoadTls(PostboteConfiguration c)
    {
        if (c.TlsCertificate is not null) StartupChecks.CheckTlsFiles(c.TlsCertificatePath, c.TlsKeyPath);
        try
        {
            return new TlsCertificateProvider(c.TlsCertificatePath, c.TlsKeyPath, c.Smtp.HostName,
                createSelfSigned: c.TlsCertificate is null, _loggers.CreateLogger<TlsCertificateProvider>());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"tls.certificate {Path.GetFullPath(c.TlsCertificatePath)}: {StartupChecks.Reason(e)}",
                StartupException.EnvironmentExitCode, e);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new StartupException($"tls.certificate {Path.GetFullPath(c.TlsCertificatePath)} and tls.key {Path.GetFullPath(c.TlsKeyPath)}: not a usable certificate and key ({e.Message})",
                StartupException.ConfigurationExitCode, e);
        }
    }

    /// <summary>Drains SMTP sessions, closes the control socket, then lets in-flight deliveries finish; the spool keeps the
    /// rest.</summary>
    /// <param name="cancellationToken">Gives up waiting.</param>
    /// <returns>A task that completes when stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_admin is not null) await _admin.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_pop3 is not null) await _pop3.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_smtp is not null) await _smtp.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_control is not null) await _control.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_pickup is not null) await _pickup.DisposeAsync().ConfigureAwait(false);
        if (_scheduler is not null) await _scheduler.StopAsync(cancellationToken).ConfigureAwait(false);
        _log.LogInformation("stopped");
    }

    /// <summary>Releases the listeners, spool and barriers.</summary>
    /// <returns>A task that completes when released.</returns>
    public async ValueTask DisposeAsync()
    {
        _sighup?.Dispose();
        if (_admin is not null) await _admin.DisposeAsync().ConfigureAwait(false);
        if (_pop3 is not null) await _pop3.DisposeAsync().ConfigureAwait(false);
        if (_smtp is not null) await _smtp.DisposeAsync().ConfigureAwait(false);
        // Policies that hold files or limiters (the greylist store) are released once no session uses them.
        foreach (IInboundPolicy p in _policy?.Policies ?? []) (p as IDisposable)?.Dispose();
        if (_control is not null) await _control.DisposeAsync().ConfigureAwait(false);
        if (_scheduler is not null) await _scheduler.DisposeAsync().ConfigureAwait(false);
        if (_relay is not null) await _relay.DisposeAsync().ConfigureAwait(false);
        if (_trace is not null) await _trace.DisposeAsync().ConfigureAwait(false);
        _metrics?.Dispose();
        _spool?.Dispose();
        _maildirBarrier?.Dispose();
        _lock?.Dispose();
    }
}
