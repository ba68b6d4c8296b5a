using Microsoft.Extensions.Logging;
using Postbote.Delivery;
using Postbote.Dns;
using Postbote.Pop3;
using Postbote.Smtp;

namespace Postbote.Host.Configuration;

/// <summary>The whole configuration of a Postbote instance, as read from TOML (see docs/configuration.md).</summary>
public sealed class PostboteConfiguration
{
    /// <summary>The data directory: spool in <c>spool/</c>, broken entries in <c>corrupt/</c>, Maildirs in <c>mail/</c>.
    /// Defaults to <c>./data</c>.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>The message trace (<c>[trace]</c>); its directory is set from <see cref="DataDirectory"/> at start.</summary>
    public Postbote.Tracing.TraceOptions Trace { get; set; } = new();

    /// <summary>The admin HTTP listener (<c>[admin]</c>): metrics, the queue page, the JSON API.</summary>
    public Postbote.Host.Admin.AdminOptions Admin { get; set; } = new();

    /// <summary>The message trace's store, <c>{data_dir}/trace</c>.</summary>
    public string TraceDirectory => Path.Combine(DataDirectory, "trace");

    /// <summary>The SMTP service.</summary>
    public SmtpServerOptions Smtp { get; set; } = new();

    /// <summary>The POP3 service (<c>[pop3]</c>): no listener unless configured (the embedded default has two).</summary>
    public Pop3ServerOptions Pop3 { get; set; } = new();

    /// <summary>Local domains, mailboxes, aliases and Maildir root.</summary>
    public LocalDeliveryOptions Local { get; set; } = new();

    /// <summary>The DNS resolver's servers, timeouts and cache (<c>[dns]</c>). Read and checked, not used yet: relaying
    /// will use it.</summary>
    public DnsResolverOptions Dns { get; set; } = new();

    /// <summary>The <c>[relay]</c> table: how mail for other domains is carried to their servers.</summary>
    public Postbote.Delivery.Smtp.SmtpRelayOptions Relay { get; set; } = new();

    /// <summary>The name outgoing SMTP and LMTP sessions give in EHLO, HELO and LHLO (<c>[relay] helo_name</c>), or
    /// <c>null</c> for the top-level <c>hostname</c>.</summary>
    public string? HeloName { get; set; }

    /// <summary>The queue's retry schedule, lifetime, delay notices and destination concurrency (<c>[queue]</c>).</summary>
    public Postbote.Queue.QueueSchedulerOptions Queue { get; set; } = new();

    /// <summary>First retry interval for deferred recipients (<see cref="Queue"/>'s
    /// <see cref="Postbote.Queue.QueueSchedulerOptions.RetryInterval"/>); doubled per attempt up to
    /// <c>max_retry_interval</c>. Defaults to 300 seconds.</summary>
    public TimeSpan RetryInterval
    {
        get => Queue.RetryInterval;
        set => Queue.RetryInterval = value;
    }

    /// <summary>The DNS block and allow lists (<c>[dnsbl]</c>, <c>[dnswl]</c>). None by default.</summary>
    public Postbote.Security.Ube.DnsListOptions DnsLists { get; set; } = new();

    /// <summary>Greylisting (<c>[greylist]</c>). Off by default.</summary>
    public Postbote.Security.Ube.GreylistOptions Greylist { get; set; } = new();

    /// <summary>Rate limits per client and user (<c>[rate_limits]</c>). All off by default.</summary>
    public Postbote.Security.Ube.RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>The greylist's directory, <c>{DataDirectory}/greylist</c>.</summary>
    public string GreylistDirectory => Path.Combine(DataDirectory, "greylist");

    /// <summary>The <c>[[dkim.sign]]</c> entries: outbound mail whose From: domain is an entry's domain gets one
    /// DKIM-Signature per entry. Default: none.</summary>
    public List<Postbote.Dkim.DkimSignEntry> DkimSign { get; set; } = [];

    /// <summary>The <c>[arc]</c> table: ARC verification of inbound mail, sealing of forwarded mail.</summary>
    public ArcSettings Arc { get; set; } = new();

    /// <summary>The minimum log level. Defaults to Information.</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    /// <summary>Whether TLS (STARTTLS, implicit TLS) is set up. Defaults to true.</summary>
    public bool TlsEnabled { get; set; } = true;

    /// <summary>PEM file with the certificate chain; <c>null</c> for <c>{DataDirectory}/tls/cert.pem</c>, which is created
    /// self-signed when missing.</summary>
    public string? TlsCertificate { get; set; }

    /// <summary>PEM file with the private key; <c>null</c> for <c>{DataDirectory}/tls/key.pem</c>.</summary>
    public string? TlsKey { get; set; }

    /// <summary>Whether MX listeners also accept the TLS 1.2 CBC and RSA key-exchange cipher suites
    /// (<see cref="Postbote.Net.TlsCipherSuites.Legacy"/>) for old senders, TLS there being opportunistic (RFC 7435).
    /// Defaults to false: AEAD suites only on every listener. Submission listeners never take them.</summary>
    public bool TlsLegacyCiphersOnMx { get; set; }

    /// <summary>Whether SMTP AUTH is offered (after TLS). Defaults to true.</summary>
    public bool AuthEnabled { get; set; } = true;

    /// <summary>Failed AUTH attempts from one address within <see cref="AuthFailureWindow"/> after which it is blocked.
    /// Defaults to 20.</summary>
    public int AuthMaxFailures { get; set; } = 20;

    /// <summary>The window in which failures are counted. Defaults to 900 seconds.</summary>
    public TimeSpan AuthFailureWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a blocked address gets 454 4.7.0 for AUTH. Defaults to 900 seconds.</summary>
    public TimeSpan AuthBlockTime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Whether SCRAM-SHA-256-PLUS is offered on TLS 1.3 connections (with <c>tls-server-end-point</c> only).
    /// Defaults to false: TLS 1.3 clients choose <c>tls-exporter</c> (RFC 9266), which .NET cannot serve.</summary>
    public bool AuthScramPlusTls13 { get; set; }

    /// <summary>The user file, <c>{DataDirectory}/users</c>.</summary>
    public string UsersFile => Path.Combine(DataDirectory, "users");

    /// <summary>The certificate file in use.</summary>
    public string TlsCertificatePath => TlsCertificate ?? Path.Combine(DataDirectory, "tls", "cert.pem");

    /// <summary>The key file in use.</summary>
    public string TlsKeyPath => TlsKey ?? Path.Combine(DataDirectory, "tls", "key.pem");

    /// <summary>The <c>[spf]</c> settings.</summary>
    public Postbote.Security.Spf.SpfOptions Spf { get; set; } = new();

    /// <summary><c>[dkim] verify</c>: whether DKIM signatures of inbound mail are verified. Defaults to <c>true</c>.</summary>
    public bool DkimVerify { get; set; } = true;

    /// <summary>The <c>[dmarc]</c> settings.</summary>
    public Postbote.Security.Dmarc.DmarcOptions Dmarc { get; set; } = new();

    /// <summary>One line per renamed setting the file still uses under its old name (<c>old is now new</c>), for the
    /// server's log and the command line's standard error.</summary>
    public IList<string> Warnings { get; } = new List<string>();

    /// <summary>Where the configuration came from: a file path, or <c>embedded default</c>.</summary>
    public string Source { get; set; } = "embedded default";

    /// <summary>The spool directory, <c>{DataDirectory}/spool</c>.</summary>
    public string SpoolDirectory => Path.Combine(DataDirectory, "spool");

    /// <summary>The corrupt-entry directory, <c>{DataDirectory}/corrupt</c>.</summary>
    public string CorruptDirectory => Path.Combine(DataDirectory, "corrupt");
}
