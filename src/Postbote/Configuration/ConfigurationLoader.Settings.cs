using Postbote.Protocol.Smtp;
using Postbote.Smtp;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>
    /// Every setting <c>postbote show-config</c> prints and <c>postbote check-config</c> suggests from ("did you mean"),
    /// in the order printed. A new table registers here with one line, <c>.. XSettings(),</c>, beside its
    /// <c>ConfigurationLoader.X.cs</c>.
    /// </summary>
    /// <returns>The settings.</returns>
    public static IReadOnlyList<ConfigurationSetting> Settings() =>
    [
        .. TopLevelSettings(),
        .. SmtpSettings(),
        .. LimitsSettings(),
        .. LocalSettings(),
        .. TlsSettings(),
        .. AuthSettings(),
        .. DnsSettings(),
        .. RelaySettings(),
        .. QueueSettings(),
        .. Pop3Settings(),
        .. DnsblSettings(),
        .. DnswlSettings(),
        .. GreylistSettings(),
        .. RateLimitsSettings(),
        .. SpfSettings(),
        .. DkimSettings(),
        .. DmarcSettings(),
        .. ArcSettingsList(),
        .. TraceSettings(),
        .. AdminSettings(),
        .. LogSettings(),
    ];

    private static ConfigurationSetting S(string key, Func<PostboteConfiguration, object?> value) => new(key, value);

    private static IEnumerable<string> Endpoints(PostboteConfiguration c, ListenerKind kind) =>
        c.Smtp.Listeners.Where(l => l.Kind == kind).Select(l => l.EndPoint.ToString());

    private static IEnumerable<ConfigurationSetting> TopLevelSettings() =>
    [
        S("hostname", c => c.Smtp.HostName),
        S("data_dir", c => c.DataDirectory),
    ];

    private static IEnumerable<ConfigurationSetting> SmtpSettings() =>
    [
        S("smtp.listen", c => Endpoints(c, ListenerKind.Mx)),
        S("smtp.submission", c => Endpoints(c, ListenerKind.Submission)),
        S("smtp.submissions", c => Endpoints(c, ListenerKind.Submissions)),
        S("smtp.require_tls", c => c.Smtp.Listeners.FirstOrDefault(l => l.Kind == ListenerKind.Mx)?.RequireTls ?? false),
        S("smtp.plaintext_auth", c => c.Smtp.Listeners.Any(l => l.AllowPlaintextAuth)),
        S("smtp.trusted_networks", c => c.Smtp.TrustedNetworks.Select(n => n.ToString())),
        S("smtp.vrfy", c => c.Smtp.Vrfy),
        S("smtp.expn", c => c.Smtp.Expn),
        S("smtp.pipelining", c => c.Smtp.Extensions.HasFlag(SmtpExtensions.Pipelining)),
        S("smtp.8bitmime", c => c.Smtp.Extensions.HasFlag(SmtpExtensions.EightBitMime)),
        S("smtp.smtputf8", c => c.Smtp.Extensions.HasFlag(SmtpExtensions.SmtpUtf8)),
        S("smtp.chunking", c => c.Smtp.Extensions.HasFlag(SmtpExtensions.Chunking)),
        S("smtp.dsn", c => c.Smtp.Extensions.HasFlag(SmtpExtensions.Dsn)),
        S("smtp.greet_pause", c => c.Smtp.GreetPause),
    ];

    private static IEnumerable<ConfigurationSetting> LimitsSettings() =>
    [
        S("limits.message_size", c => c.Smtp.Limits.MessageSize),
        S("limits.max_body_memory", c => c.Smtp.Limits.MaxBodyMemory),
        S("limits.recipients", c => c.Smtp.Limits.RecipientsPerMessage),
        S("limits.idle_timeout", c => c.Smtp.Limits.IdleTimeout),
        S("limits.command_line_timeout", c => c.Smtp.Limits.CommandLineTimeout),
        S("limits.min_data_rate", c => c.Smtp.Limits.MinDataRate),
        S("limits.min_data_rate_grace", c => c.Smtp.Limits.MinDataRateGracePeriod),
        S("limits.max_connections", c => c.Smtp.Limits.MaxConnections),
        S("limits.max_connections_per_ip", c => c.Smtp.Limits.MaxConnectionsPerIp),
        S("limits.max_errors", c => c.Smtp.Limits.MaxErrors),
        S("limits.shutdown_timeout", c => c.Smtp.Limits.ShutdownTimeout),
        S("limits.hop_count_limit", c => c.Smtp.Limits.HopCountLimit),
    ];

    private static IEnumerable<ConfigurationSetting> LocalSettings() =>
    [
        S("local.domains", c => c.Local.Domains),
        S("local.mailboxes", c => c.Local.Mailboxes),
        S("local.catch_all", c => c.Local.CatchAll),
        S("local.maildir_root", c => c.Local.MaildirRoot),
        S("local.save_crlf", c => c.Local.SaveCrlf),
        S("local.aliases", c => c.Local.Aliases.OrderBy(a => a.Key, StringComparer.Ordinal)
            .Select(a => new KeyValuePair<string, object>(a.Key, a.Value)).ToList()),
    ];

    private static IEnumerable<ConfigurationSetting> TlsSettings() =>
    [
        S("tls.enabled", c => c.TlsEnabled),
        S("tls.certificate", c => c.TlsCertificate),
        S("tls.key", c => c.TlsKey),
        S("tls.legacy_ciphers_on_mx", c => c.TlsLegacyCiphersOnMx),
    ];

    private static IEnumerable<ConfigurationSetting> AuthSettings() =>
    [
        S("auth.enabled", c => c.AuthEnabled),
        S("auth.max_failures", c => c.AuthMaxFailures),
        S("auth.failure_window", c => c.AuthFailureWindow),
        S("auth.block_time", c => c.AuthBlockTime),
        S("auth.scram_plus_tls13", c => c.AuthScramPlusTls13),
    ];

    private static IEnumerable<ConfigurationSetting> DnsSettings() =>
    [
        // No servers: those of /etc/resolv.conf, which TOML cannot say as a value.
        S("dns.servers", c => c.Dns.Servers.Count == 0 ? null : c.Dns.Servers.Select(s => s.ToString())),
        S("dns.timeout", c => c.Dns.Timeout),
        S("dns.retries", c => c.Dns.Retries),
        S("dns.cache_size", c => c.Dns.CacheSize),
        S("dns.max_ttl", c => c.Dns.MaxTtl),
        S("dns.max_negative_ttl", c => c.Dns.MaxNegativeTtl),
    ];

    private static IEnumerable<ConfigurationSetting> RelaySettings() =>
    [
        S("relay.port", c => c.Relay.Port),
        S("relay.connect_timeout", c => c.Relay.ConnectTimeout),
        S("relay.smarthost", c => c.Relay.Smarthost?.ToString()),
        S("relay.smarthost_username", c => c.Relay.SmarthostCredential?.UserName),
        // The password is never printed.
        S("relay.smarthost_password", c => c.Relay.SmarthostCredential is null ? null : ConfigurationPrinter.Hidden),
        S("relay.helo_name", c => c.HeloName ?? c.Smtp.HostName),
        S("relay.bind_address", c => c.Relay.BindAddress?.ToString()),
        S("relay.bind_address6", c => c.Relay.BindAddress6?.ToString()),
        S("relay.address_preference", c => c.Relay.AddressPreference.ToString().ToLowerInvariant()),
        S("relay.transports", c => c.Relay.Transports.Entries.Select(e => new KeyValuePair<string, object>(e.Key, e.Value.ToString())).ToList()),
    ];

    private static IEnumerable<ConfigurationSetting> QueueSettings() =>
    [
        S("queue.retry_interval", c => c.Queue.RetryInterval),
        S("queue.max_retry_interval", c => c.Queue.MaxRetryInterval),
        S("queue.max_lifetime", c => c.Queue.MaxLifetime),
        S("queue.delay_warning_time", c => c.Queue.DelayWarningTime),
        S("queue.destination_concurrency", c => c.Queue.DestinationConcurrency),
        S("queue.destination_rate_limit", c => c.Queue.DestinationRateLimit),
        S("queue.destination_recipient_limit", c => c.Queue.DestinationRecipientLimit),
        S("queue.connection_reuse_count_limit", c => c.Relay.MaxMessagesPerConnection),
    ];

    private static IEnumerable<ConfigurationSetting> Pop3Settings() =>
    [
        S("pop3.listen", c => c.Pop3.Listeners.Where(l => !l.ImplicitTls).Select(l => l.EndPoint.ToString())),
        S("pop3.listen_tls", c => c.Pop3.Listeners.Where(l => l.ImplicitTls).Select(l => l.EndPoint.ToString())),
        S("pop3.plaintext_auth", c => c.Pop3.AllowPlaintextAuth),
        S("pop3.smtp_after_pop", c => c.Pop3.SmtpAfterPop),
        S("pop3.idle_timeout", c => c.Pop3.Limits.IdleTimeout),
    ];

    private static IEnumerable<ConfigurationSetting> DnsblSettings() =>
    [
        S("dnsbl.zones", c => c.DnsLists.BlockLists.Select(z => z.ToString())),
        S("dnsbl.action", c => c.DnsLists.Action.ToString().ToLowerInvariant()),
    ];

    private static IEnumerable<ConfigurationSetting> DnswlSettings() =>
    [
        S("dnswl.zones", c => c.DnsLists.AllowLists.Select(z => z.ToString())),
    ];

    private static IEnumerable<ConfigurationSetting> GreylistSettings() =>
    [
        S("greylist.enabled", c => c.Greylist.Enabled),
        S("greylist.delay", c => c.Greylist.Delay),
        S("greylist.retry_window", c => c.Greylist.RetryWindow),
        S("greylist.expire", c => c.Greylist.Expire),
        S("greylist.network_prefix_v4", c => c.Greylist.NetworkPrefixV4),
        S("greylist.network_prefix_v6", c => c.Greylist.NetworkPrefixV6),
    ];

    private static IEnumerable<ConfigurationSetting> RateLimitsSettings() =>
    [
        S("rate_limits.connections_per_client", c => c.RateLimits.ConnectionsPerClient),
        S("rate_limits.messages_per_client", c => c.RateLimits.MessagesPerClient),
        S("rate_limits.messages_per_user", c => c.RateLimits.MessagesPerUser),
        S("rate_limits.recipients_per_client", c => c.RateLimits.RecipientsPerClient),
    ];

    private static IEnumerable<ConfigurationSetting> LogSettings() =>
    [
        S("log.level", c => c.LogLevel.ToString().ToLowerInvariant()),
    ];
}
