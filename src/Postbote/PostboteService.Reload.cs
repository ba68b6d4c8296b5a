using Microsoft.Extensions.Logging;
using Postbote.Host.Configuration;
using Postbote.Routing;

namespace Postbote.Host;

public sealed partial class PostboteService
{
    /// <summary>The settings that <see cref="Reload"/> puts in force while the server runs; every other setting that
    /// changed is logged as needing a restart. Prefixes end with a dot.</summary>
    private static readonly string[] LiveSettings =
        ["local.domains", "local.mailboxes", "local.catch_all", "local.aliases", "relay.", "queue.", "tls.certificate", "tls.key"];

    /// <summary>
    /// <c>postbote reload</c> (SIGHUP): re-reads the configuration file and puts in force what can change without
    /// dropping a session: local domains, mailboxes, aliases and catch-all, the <c>[relay]</c> settings and transports,
    /// the queue's timings, the TLS certificate and key (re-read from their files); the user file is re-read at each
    /// login anyway. Every other setting that changed (listeners, <c>data_dir</c>, limits…) gets one warning naming it: it
    /// takes effect after a restart. A file that does not load keeps the configuration in force and logs each error line
    /// as <c>postbote check-config</c> finds them. Open sessions are never touched.
    /// </summary>
    internal void Reload()
    {
        if (_config.Source == "embedded default" || !File.Exists(_config.Source))
        {
            _tls?.Reload();
            _log.LogInformation("reload: no configuration file to re-read ({Source}); the TLS certificate is reloaded", _config.Source);
            return;
        }
        PostboteConfiguration next;
        try
        {
            next = ConfigurationLoader.Load(_config.Source);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            IReadOnlyList<ConfigurationDiagnostic> found = [];
            try
            {
                found = ConfigurationLoader.Check(_config.Source);
            }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException)
            {
                // The first message says why.
            }
            foreach (ConfigurationDiagnostic d in found.Where(d => !d.IsWarning)) _log.LogError("reload: {Error}", d.ToString());
            if (!found.Any(d => !d.IsWarning)) _log.LogError("reload: {Source}: {Error}", _config.Source, e.Message);
            _log.LogError("reload: {Source} has errors: the configuration in force is kept", _config.Source);
            return;
        }
        foreach (string w in next.Warnings) _log.LogWarning("reload: {Warning}", w);
        PostboteConfiguration c = _config;
        foreach (ConfigurationSetting s in ConfigurationLoader.Settings())
        {
            if (LiveSettings.Any(p => p.EndsWith('.') ? s.Key.StartsWith(p, StringComparison.Ordinal) : s.Key == p)) continue;
            if (ConfigurationPrinter.Format(s.Value(c)) != ConfigurationPrinter.Format(s.Value(next)))
                _log.LogWarning("reload: {Key} changed: takes effect after a restart (the running server keeps {Old})", s.Key, ConfigurationPrinter.Format(s.Value(c)));
        }
        // Local recipients: one new table, swapped in whole.
        c.Local.Domains = next.Local.Domains;
        c.Local.Mailboxes = next.Local.Mailboxes;
        c.Local.Aliases = next.Local.Aliases;
        c.Local.CatchAll = next.Local.CatchAll;
        _recipients?.Replace(new LocalRecipients(next.Local));
        // Relay: the agent reads its options at each delivery; destinations too.
        bool localTransportsChanged = c.Local.Domains.Concat(next.Local.Domains).Distinct(StringComparer.OrdinalIgnoreCase)
            .Any(d => c.Relay.Transports.Find(d)?.ToString() != next.Relay.Transports.Find(d)?.ToString());
        c.Relay.Port = next.Relay.Port;
        c.Relay.ConnectTimeout = next.Relay.ConnectTimeout;
        c.Relay.Smarthost = next.Relay.Smarthost;
        c.Relay.SmarthostCredential = next.Relay.SmarthostCredential;
        c.Relay.Transports = next.Relay.Transports;
        c.Relay.BindAddress = next.Relay.BindAddress;
        c.Relay.BindAddress6 = next.Relay.BindAddress6;
        c.Relay.AddressPreference = next.Relay.AddressPreference;
        c.Relay.HeloName = next.HeloName ?? c.Smtp.HostName;
        if (localTransportsChanged)
            _log.LogWarning("reload: relay.transports changed for a local domain: its mailboxes follow the new transport after a restart");
        // Queue timings: the scheduler reads them at each decision.
        c.Queue.RetryInterval = next.Queue.RetryInterval;
        c.Queue.MaxRetryInterval = next.Queue.MaxRetryInterval;
        c.Queue.MaxLifetime = next.Queue.MaxLifetime;
        c.Queue.DelayWarningTime = next.Queue.DelayWarningTime;
        c.Queue.DestinationConcurrency = next.Queue.DestinationConcurrency;
        // TLS: the provider re-reads its files; other file names need a restart.
        if (c.TlsCertificatePath != next.TlsCertificatePath || c.TlsKeyPath != next.TlsKeyPath)
            _log.LogWarning("reload: tls.certificate or tls.key names another file: takes effect after a restart (the files in force are re-read)");
        _tls?.Reload();
        _log.LogInformation("reload: {Source} re-read: local recipients, relay, queue timings and the TLS certificate in force; open sessions kept",
            _config.Source);
    }
}
