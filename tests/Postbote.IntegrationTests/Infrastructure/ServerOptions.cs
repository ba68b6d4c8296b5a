using System.Globalization;
using System.Text;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// The settings a test server starts with, written out as the server's TOML configuration. Unset values are left out so
/// the server's own defaults apply. The defaults here are the set-up that ../shared/cases/README.md asks for.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>The mailboxes the shared cases expect: rcpt, postmaster, alice, user1 … user101 at example.com.</summary>
    public static IReadOnlyList<string> CaseMailboxes { get; } =
        ["rcpt@example.com", "postmaster@example.com", "alice@example.com",
         .. Enumerable.Range(1, 101).Select(i => $"user{i}@example.com")];

    /// <summary>hostname.</summary>
    public string Hostname { get; set; } = "mx.test";

    /// <summary>[smtp] trusted_networks; empty: nobody may relay.</summary>
    public IReadOnlyList<string> TrustedNetworks { get; set; } = [];

    /// <summary>[limits] message_size in bytes.</summary>
    public long? MessageSize { get; set; } = 1048576;

    /// <summary>[limits] recipients.</summary>
    public int? Recipients { get; set; }

    /// <summary>[limits] idle_timeout in seconds.</summary>
    public int? IdleTimeoutSeconds { get; set; }

    /// <summary>[limits] min_data_rate in bytes per second.</summary>
    public int? MinDataRate { get; set; }

    /// <summary>[limits] min_data_rate_grace in seconds.</summary>
    public int? MinDataRateGraceSeconds { get; set; }

    /// <summary>[limits] max_connections.</summary>
    public int? MaxConnections { get; set; }

    /// <summary>[limits] max_connections_per_ip.</summary>
    public int? MaxConnectionsPerIp { get; set; }

    /// <summary>[limits] max_errors.</summary>
    public int? MaxErrors { get; set; }

    /// <summary>[local] domains.</summary>
    public IReadOnlyList<string> LocalDomains { get; set; } = ["example.com"];

    /// <summary>[local] mailboxes.</summary>
    public IReadOnlyList<string> Mailboxes { get; set; } = CaseMailboxes;

    /// <summary>[local.aliases].</summary>
    public IReadOnlyDictionary<string, string[]> Aliases { get; set; } = new Dictionary<string, string[]>();

    /// <summary>[log] level.</summary>
    public string LogLevel { get; set; } = "information";

    /// <summary>Whether the server gets a [smtp] submission listener (STARTTLS, then AUTH) on a port of its own.</summary>
    public bool Submission { get; set; }

    /// <summary>Whether the server gets a [smtp] submissions listener (implicit TLS, RFC 8314) on a port of its own.</summary>
    public bool Submissions { get; set; }

    /// <summary>[smtp] require_tls.</summary>
    public bool? RequireTls { get; set; }

    /// <summary>[smtp] plaintext_auth.</summary>
    public bool? PlaintextAuth { get; set; }

    /// <summary>[tls] enabled.</summary>
    public bool? TlsEnabled { get; set; }

    /// <summary>[tls] certificate: PEM file, absolute path.</summary>
    public string? TlsCertificate { get; set; }

    /// <summary>[tls] key: PEM file, absolute path.</summary>
    public string? TlsKey { get; set; }

    /// <summary>[tls] legacy_ciphers_on_mx.</summary>
    public bool? TlsLegacyCiphersOnMx { get; set; }

    /// <summary>[auth] max_failures.</summary>
    public int? AuthMaxFailures { get; set; }

    /// <summary>[auth] failure_window in seconds.</summary>
    public int? AuthFailureWindowSeconds { get; set; }

    /// <summary>[auth] block_time in seconds.</summary>
    public int? AuthBlockTimeSeconds { get; set; }

    /// <summary>[queue] retry_interval in seconds.</summary>
    public int? RetryIntervalSeconds { get; set; }

    /// <summary>[queue] destination_concurrency.</summary>
    public int? DestinationConcurrency { get; set; }

    /// <summary>[dns] servers. A loopback port where nothing answers by default, so that a test server that relays
    /// never asks the machine's resolver: its lookups fail at once and mail for other domains stays deferred.</summary>
    public IReadOnlyList<string> DnsServers { get; set; } = ["127.0.0.1:1"];

    /// <summary>[relay] port.</summary>
    public int? RelayPort { get; set; }

    /// <summary>[relay] smarthost, e.g. <c>[127.0.0.1]:2600</c>.</summary>
    public string? Smarthost { get; set; }

    /// <summary>[relay] smarthost_username and smarthost_password.</summary>
    public (string User, string Password)? SmarthostCredential { get; set; }

    /// <summary>[relay.transports]: domain to transport, e.g. <c>"example.net" = "smtp:[127.0.0.1]:2600"</c>.</summary>
    public IReadOnlyDictionary<string, string> Transports { get; set; } = new Dictionary<string, string>();

    /// <summary>[auth] scram_plus_tls13.</summary>
    public bool? AuthScramPlusTls13 { get; set; }

    /// <summary>Whether the server gets a [pop3] table with a listen (STLS) and a listen_tls port of its own.</summary>
    public bool Pop3 { get; set; }

    /// <summary>[pop3] smtp_after_pop in seconds.</summary>
    public int? Pop3SmtpAfterPopSeconds { get; set; }

    /// <summary>[pop3] plaintext_auth.</summary>
    public bool? Pop3PlaintextAuth { get; set; }

    /// <summary>[smtp] greet_pause in seconds.</summary>
    public double? GreetPauseSeconds { get; set; }

    /// <summary>Whole tables appended to the configuration as written (e.g. <c>[greylist]</c>, <c>[dnsbl]</c>).</summary>
    public string? ExtraTables { get; set; }

    /// <summary>The TOML text for a server whose data and Maildirs live in the given folders.</summary>
    public string ToToml(
        string dataDir,
        string maildirRoot,
        IEnumerable<int> ports,
        IEnumerable<int>? submissionPorts = null,
        IEnumerable<int>? submissionsPorts = null,
        (int Listen, int ListenTls)? pop3Ports = null)
    {
        var toml = new StringBuilder();
        toml.Append(CultureInfo.InvariantCulture, $"hostname = {Quote(Hostname)}\n");
        toml.Append(CultureInfo.InvariantCulture, $"data_dir = {Quote(dataDir)}\n\n");
        toml.Append("[smtp]\n");
        toml.Append(CultureInfo.InvariantCulture, $"listen = {List(ports.Select(p => $"127.0.0.1:{p}"))}\n");
        if (submissionPorts is not null)
        {
            toml.Append(CultureInfo.InvariantCulture, $"submission = {List(submissionPorts.Select(p => $"127.0.0.1:{p}"))}\n");
        }

        if (submissionsPorts is not null)
        {
            toml.Append(CultureInfo.InvariantCulture, $"submissions = {List(submissionsPorts.Select(p => $"127.0.0.1:{p}"))}\n");
        }

        Boolean(toml, "require_tls", RequireTls);
        Boolean(toml, "plaintext_auth", PlaintextAuth);
        if (GreetPauseSeconds is { } pause) toml.Append(CultureInfo.InvariantCulture, $"greet_pause = {pause}\n");
        toml.Append(CultureInfo.InvariantCulture, $"trusted_networks = {List(TrustedNetworks)}\n\n");
        toml.Append("[limits]\n");
        Number(toml, "message_size", MessageSize);
        Number(toml, "recipients", Recipients);
        Number(toml, "idle_timeout", IdleTimeoutSeconds);
        Number(toml, "min_data_rate", MinDataRate);
        Number(toml, "min_data_rate_grace", MinDataRateGraceSeconds);
        Number(toml, "max_connections", MaxConnections);
        Number(toml, "max_connections_per_ip", MaxConnectionsPerIp);
        Number(toml, "max_errors", MaxErrors);
        toml.Append("\n[local]\n");
        toml.Append(CultureInfo.InvariantCulture, $"domains = {List(LocalDomains)}\n");
        toml.Append(CultureInfo.InvariantCulture, $"mailboxes = {List(Mailboxes)}\n");
        toml.Append(CultureInfo.InvariantCulture, $"maildir_root = {Quote(maildirRoot)}\n\n");
        toml.Append("[local.aliases]\n");
        foreach (var (alias, targets) in Aliases)
        {
            toml.Append(CultureInfo.InvariantCulture, $"{Quote(alias)} = {List(targets)}\n");
        }

        if (TlsEnabled is not null || TlsCertificate is not null || TlsKey is not null || TlsLegacyCiphersOnMx is not null)
        {
            toml.Append("\n[tls]\n");
            Boolean(toml, "enabled", TlsEnabled);
            Text(toml, "certificate", TlsCertificate);
            Text(toml, "key", TlsKey);
            Boolean(toml, "legacy_ciphers_on_mx", TlsLegacyCiphersOnMx);
        }

        if (AuthMaxFailures is not null || AuthFailureWindowSeconds is not null || AuthBlockTimeSeconds is not null || AuthScramPlusTls13 is not null)
        {
            toml.Append("\n[auth]\n");
            Number(toml, "max_failures", AuthMaxFailures);
            Number(toml, "failure_window", AuthFailureWindowSeconds);
            Number(toml, "block_time", AuthBlockTimeSeconds);
            Boolean(toml, "scram_plus_tls13", AuthScramPlusTls13);
        }

        if (RetryIntervalSeconds is not null || DestinationConcurrency is not null)
        {
            toml.Append("\n[queue]\n");
            Number(toml, "retry_interval", RetryIntervalSeconds);
            Number(toml, "destination_concurrency", DestinationConcurrency);
        }

        if (pop3Ports is { } pop3)
        {
            toml.Append("\n[pop3]\n");
            toml.Append(CultureInfo.InvariantCulture, $"listen = [\"127.0.0.1:{pop3.Listen}\"]\n");
            toml.Append(CultureInfo.InvariantCulture, $"listen_tls = [\"127.0.0.1:{pop3.ListenTls}\"]\n");
            Number(toml, "smtp_after_pop", Pop3SmtpAfterPopSeconds);
            Boolean(toml, "plaintext_auth", Pop3PlaintextAuth);
        }

        toml.Append("\n[dns]\n");
        toml.Append(CultureInfo.InvariantCulture, $"servers = {List(DnsServers)}\n");
        toml.Append("timeout = 1\nretries = 0\n");
        if (RelayPort is not null || Smarthost is not null)
        {
            toml.Append("\n[relay]\n");
            Number(toml, "port", RelayPort);
            if (Smarthost is not null) toml.Append(CultureInfo.InvariantCulture, $"smarthost = {Quote(Smarthost)}\n");
            if (SmarthostCredential is { } credential)
            {
                toml.Append(CultureInfo.InvariantCulture, $"smarthost_username = {Quote(credential.User)}\n");
                toml.Append(CultureInfo.InvariantCulture, $"smarthost_password = {Quote(credential.Password)}\n");
            }
        }

        if (Transports.Count > 0)
        {
            toml.Append("\n[relay.transports]\n");
            foreach (var (domain, transport) in Transports)
            {
                toml.Append(CultureInfo.InvariantCulture, $"{Quote(domain)} = {Quote(transport)}\n");
            }
        }

        if (ExtraTables is not null) toml.Append('\n').Append(ExtraTables).Append('\n');
        toml.Append("\n[log]\n");
        toml.Append(CultureInfo.InvariantCulture, $"level = {Quote(LogLevel)}\n");
        return toml.ToString();
    }

    private static void Number(StringBuilder toml, string key, long? value)
    {
        if (value is { } v)
        {
            toml.Append(CultureInfo.InvariantCulture, $"{key} = {v}\n");
        }
    }

    private static void Boolean(StringBuilder toml, string key, bool? value)
    {
        if (value is { } v)
        {
            toml.Append(CultureInfo.InvariantCulture, $"{key} = {(v ? "true" : "false")}\n");
        }
    }

    private static void Text(StringBuilder toml, string key, string? value)
    {
        if (value is not null)
        {
            toml.Append(CultureInfo.InvariantCulture, $"{key} = {Quote(value)}\n");
        }
    }

    private static string List(IEnumerable<string> values) => "[" + string.Join(", ", values.Select(Quote)) + "]";

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
