using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.Runtime.InteropServices;
using Postbote.Delivery;
using Postbote.IO;
using Postbote.Net;
using Postbote.Host.Configuration;
using Postbote.Host.Startup;
using Postbote.Queue;
using Postbote.Routing;
using Postbote.Security;
using Postbote.Security.Sasl;
using Postbote.Security.Users;
using Postbote.Smtp;

namespace Postbote.Host;

/// <summary>
/// The running mail server, composed in one place: spool, scheduler with the delivery router and the Maildir agent,
/// inbound policy and the SMTP service. Starts them in dependency order (recovery before listening) and stops them in
/// reverse (SMTP drains first, then deliveries finish).
/// </summary>
public sealed class PostboteService : IHostedService, IAsyncDisposable
{
    private readonly PostboteConfiguration _config;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _log;
    private Spool? _spool;
    private DurabilityBarrier? _maildirBarrier;
    private QueueScheduler? _scheduler;
    private SmtpServer? _smtp;
    private TlsCertificateProvider? _tls;
    private PosixSignalRegistration? _sighup;
    private DataDirectoryLock? _lock;

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
        var spoolOptions = new SpoolOptions { Directory = c.SpoolDirectory, CorruptDirectory = c.CorruptDirectory };
        _spool = new Spool(spoolOptions, _loggers.CreateLogger<Spool>());
        _maildirBarrier = new DurabilityBarrier(c.Local.MaildirRoot, spoolOptions.SyncMode);
        var recipients = new LocalRecipients(c.Local);
        var maildir = new MaildirDeliveryAgent(c.Local, _maildirBarrier, _loggers.CreateLogger<MaildirDeliveryAgent>(), c.Smtp.HostName);
        var router = new DeliveryRouter(recipients, maildir, _loggers.CreateLogger<DeliveryRouter>());
        // Destination queues: one per remote domain; local recipients are in none (no concurrency limit, no back-off).
        c.Queue.Destination ??= m => recipients.Classify(m) == RecipientKind.Remote ? m.Domain.ToLowerInvariant() : null;
        _scheduler = new QueueScheduler(_spool, router, c.Queue, _loggers.CreateLogger<QueueScheduler>());
        await _scheduler.StartAsync(cancellationToken).ConfigureAwait(false);
        if (_tls is not null)
        {
            // SIGHUP reloads the certificate; open sessions keep theirs (the default action, ending the process, is cancelled).
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
            {
                ctx.Cancel = true;
                _tls!.Reload();
            });
        }
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
        var sink = new BudgetedMessageSink(_spool, new BodyMemoryBudget(c.Smtp.Limits.MaxBodyMemory));
        _smtp = new SmtpServer(c.Smtp, new RelayPolicy(recipients, users), sink, _loggers, TimeProvider.System, _tls, auth);
        await _smtp.StartAsync(cancellationToken).ConfigureAwait(false);
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

    /// <summary>Drains SMTP sessions, then lets in-flight deliveries finish; the spool keeps the rest.</summary>
    /// <param name="cancellationToken">Gives up waiting.</param>
    /// <returns>A task that completes when stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_smtp is not null) await _smtp.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_scheduler is not null) await _scheduler.StopAsync(cancellationToken).ConfigureAwait(false);
        _log.LogInformation("stopped");
    }

    /// <summary>Releases the listeners, spool and barriers.</summary>
    /// <returns>A task that completes when released.</returns>
    public async ValueTask DisposeAsync()
    {
        _sighup?.Dispose();
        if (_smtp is not null) await _smtp.DisposeAsync().ConfigureAwait(false);
        if (_scheduler is not null) await _scheduler.DisposeAsync().ConfigureAwait(false);
        _spool?.Dispose();
        _maildirBarrier?.Dispose();
        _lock?.Dispose();
    }
}
