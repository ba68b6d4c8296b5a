using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Postbote.Dns;
using Postbote.Protocol.Smtp;
using Postbote.Smtp;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Postbote.Host.Configuration;

/// <summary>
/// Reads the TOML configuration (TOML 1.1 via Tomlyn) into a <see cref="PostboteConfiguration"/>. Unknown keys are
/// errors, so a misspelt setting is caught at start-up instead of being silently ignored. Every setting, its default and
/// its unit are listed in docs/configuration.md.
/// </summary>
public static partial class ConfigurationLoader
{
    /// <summary>The embedded default: 127.0.0.1:2525, data in ./data, local domain <c>localhost</c> with catch-all
    /// <c>postmaster@localhost</c>, loopback trusted; POP3 on 127.0.0.1:2110 (STLS) and 127.0.0.1:2995 (implicit TLS).</summary>
    /// <returns>The default configuration.</returns>
    public static PostboteConfiguration Default()
    {
        var c = new PostboteConfiguration();
        c.Local.Domains = new List<string> { "localhost" };
        c.Local.CatchAll = "postmaster@localhost";
        c.Local.MaildirRoot = Path.Combine(c.DataDirectory, "mail");
        c.Smtp.Listeners = new List<ListenerOptions>
        {
            new(new IPEndPoint(IPAddress.Loopback, 2525)),
            new(new IPEndPoint(IPAddress.Loopback, 2587), ListenerKind.Submission),
            new(new IPEndPoint(IPAddress.Loopback, 2465), ListenerKind.Submissions),
        };
        c.Pop3.Listeners = Postbote.Pop3.Pop3ServerOptions.LoopbackDefaults();
        return c;
    }

    /// <summary>Reads a configuration file.</summary>
    /// <param name="path">Path of the TOML file.</param>
    /// <returns>The configuration; relative paths in it are taken relative to the current directory.</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="FormatException">The file is not valid TOML or a setting is unknown, of the wrong type or out of
    /// range; the message names the setting.</exception>
    public static PostboteConfiguration Load(string path)
    {
        if (Directory.Exists(path)) throw new FormatException($"{path} is a directory, not a TOML file");
        string text = File.ReadAllText(path);
        PostboteConfiguration c = Parse(text, Path.GetFullPath(path));
        c.Source = Path.GetFullPath(path);
        return c;
    }

    /// <summary>Parses configuration text.</summary>
    /// <param name="toml">The TOML text.</param>
    /// <param name="sourceName">The file name for Tomlyn's diagnostics, or <c>null</c>.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="FormatException">Invalid TOML (the message names the file, line and column), a table or key
    /// defined twice, an unknown setting, or a bad value.</exception>
    public static PostboteConfiguration Parse(string toml, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(toml);
        // The syntax tree with validation catches what the model reader lets through. TOML 1.0 §Table: "Like keys, you
        // cannot define a table more than once. Doing so is invalid."
        DocumentSyntax syntax = SyntaxParser.Parse(toml, sourceName ?? "configuration", validate: true);
        if (syntax.HasErrors)
        {
            DiagnosticMessage first = syntax.Diagnostics.First(d => d.Kind == DiagnosticMessageKind.Error);
            throw new FormatException(string.Create(CultureInfo.InvariantCulture,
                $"line {first.Span.Start.Line + 1}: {Describe(first.Message)}"));
        }
        TomlTable root = Model(toml);
        var warnings = new List<string>();
        ApplyRenames(root, (old, current) => warnings.Add(RenameWarning(old, current)));
        PostboteConfiguration c = FromModel(root);
        foreach (string w in warnings) c.Warnings.Add(w);
        return c;
    }

    /// <summary>The TOML text as Tomlyn's model (syntax already checked).</summary>
    /// <exception cref="FormatException">Tomlyn refused the text.</exception>
    private static TomlTable Model(string toml)
    {
        try
        {
            return TomlSerializer.Deserialize<TomlTable>(toml) ?? new TomlTable();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new FormatException("invalid TOML: " + e.Message, e);
        }
    }

    /// <summary>Reads the model of a whole file, table by table (one line per table in the switch below), then checks what
    /// spans tables. The first wrong setting ends the reading; <see cref="Check"/> reads again without it to find the
    /// next.</summary>
    /// <exception cref="FormatException">An unknown setting or a bad value; one line naming the setting.</exception>
    private static PostboteConfiguration FromModel(TomlTable root)
    {
        var c = new PostboteConfiguration { Local = { CatchAll = null, Domains = new List<string>() } };
        string? maildirRoot = null;
        bool smtpSeen = false;
        foreach (var (key, value) in root)
        {
            switch (key)
            {
                case "hostname": c.Smtp.HostName = HostName(key, value); break;
                case "data_dir": c.DataDirectory = PathSetting(key, value); break;
                case "smtp": ReadSmtp(Table(key, value), c); smtpSeen = true; break;
                case "limits": ReadLimits(Table(key, value), c); break;
                case "dns": ReadDns(Table(key, value), c.Dns); break;
                case "pop3": ReadPop3(Table(key, value), c); break;
                case "relay": ReadRelay(Table(key, value), c); break;
                case "local": maildirRoot = ReadLocal(Table(key, value), c); break;
                case "tls":
                    foreach (var (k, v) in Table(key, value))
                    {
                        string name = "tls." + k;
                        switch (k)
                        {
                            case "enabled": c.TlsEnabled = Bool(name, v); break;
                            case "certificate": c.TlsCertificate = Str(name, v); break;
                            case "key": c.TlsKey = Str(name, v); break;
                            case "legacy_ciphers_on_mx": c.TlsLegacyCiphersOnMx = Bool(name, v); break;
                            default: throw Unknown(name);
                        }
                    }
                    break;
                case "auth":
                    foreach (var (k, v) in Table(key, value))
                    {
                        string name = "auth." + k;
                        switch (k)
                        {
                            case "enabled": c.AuthEnabled = Bool(name, v); break;
                            case "max_failures": c.AuthMaxFailures = (int)Int(name, v, 1, 1_000_000); break;
                            case "failure_window": c.AuthFailureWindow = Seconds(name, v); break;
                            case "block_time": c.AuthBlockTime = Seconds(name, v); break;
                            case "scram_plus_tls13": c.AuthScramPlusTls13 = Bool(name, v); break;
                            default: throw Unknown(name);
                        }
                    }
                    break;
                case "queue": ReadQueue(Table(key, value), c); break;
                case "trace": ReadTrace(Table(key, value), c.Trace); break;
                case "admin": ReadAdmin(Table(key, value), c.Admin); break;
                case "dnsbl": ReadDnsbl(Table(key, value), c.DnsLists); break;
                case "dnswl": ReadDnswl(Table(key, value), c.DnsLists); break;
                case "greylist": ReadGreylist(Table(key, value), c.Greylist); break;
                case "rate_limits": ReadRateLimits(Table(key, value), c.RateLimits); break;
                case "spf": ReadSpf(Table(key, value), c.Spf); break;
                case "dkim": ReadDkim(Table(key, value), c); break;
                case "dmarc": ReadDmarc(Table(key, value), c.Dmarc); break;
                case "arc": ReadArc(Table(key, value), c.Arc); break;
                case "log":
                    foreach (var (k, v) in Table(key, value))
                    {
                        if (k == "level" && Enum.TryParse(Str("log.level", v), ignoreCase: true, out LogLevel level)) c.LogLevel = level;
                        else if (k == "level") throw new FormatException("log.level must be one of trace, debug, information, warning, error, critical, none");
                        else throw Unknown("log." + k);
                    }
                    break;
                default: throw Unknown(key);
            }
        }
        if (!smtpSeen) ReadSmtp(new TomlTable(), c);
        if (c.Local.Domains.Count == 0) c.Local.Domains.Add("localhost");
        if (c.TlsCertificate is null != (c.TlsKey is null)) throw new FormatException("tls.certificate and tls.key go together");
        if (!c.TlsEnabled && c.Smtp.Listeners.Any(l => l.ImplicitTls)) throw new FormatException("smtp.submissions needs TLS (tls.enabled = true)");
        // [tls] may come before or after [smtp]: the MX listeners take legacy_ciphers_on_mx once both are read.
        if (c.TlsLegacyCiphersOnMx)
            c.Smtp.Listeners = c.Smtp.Listeners.Select(l => l.Kind == ListenerKind.Mx ? l with { LegacyTlsCiphers = true } : l).ToList();
        c.Local.MaildirRoot = maildirRoot ?? Path.Combine(c.DataDirectory, "mail");
        ResolveDkimKeys(c);
        try
        {
            c.Smtp.Limits.Validate();
            c.Local.Validate();
            c.Dns.Validate();
        }
        catch (ArgumentException e)
        {
            throw new FormatException(OneLine(e), e);
        }
        return c;
    }

    private static void ReadSmtp(TomlTable t, PostboteConfiguration c)
    {
        var mx = new List<string> { "127.0.0.1:2525" };
        var submission = new List<string>();
        var submissions = new List<string>();
        bool requireTls = false, plaintextAuth = false;
        foreach (var (k, v) in t)
        {
            string name = "smtp." + k;
            switch (k)
            {
                case "listen": mx = Strings(name, v).ToList(); break;
                case "submission": submission = Strings(name, v).ToList(); break;
                case "submissions": submissions = Strings(name, v).ToList(); break;
                case "require_tls": requireTls = Bool(name, v); break;
                case "plaintext_auth": plaintextAuth = Bool(name, v); break;
                case "trusted_networks": c.Smtp.TrustedNetworks = Strings(name, v).Select(s => Network(name, s)).ToList(); break;
                case "vrfy": c.Smtp.Vrfy = Bool(name, v); break;
                case "expn": c.Smtp.Expn = Bool(name, v); break;
                case "pipelining": Toggle(c, SmtpExtensions.Pipelining, Bool(name, v)); break;
                case "8bitmime": Toggle(c, SmtpExtensions.EightBitMime, Bool(name, v)); break;
                case "smtputf8": Toggle(c, SmtpExtensions.SmtpUtf8, Bool(name, v)); break;
                case "chunking": Toggle(c, SmtpExtensions.Chunking | SmtpExtensions.BinaryMime, Bool(name, v)); break;
                case "dsn": Toggle(c, SmtpExtensions.Dsn, Bool(name, v)); break;
                case "greet_pause":
                    c.Smtp.GreetPause = Seconds(name, v);
                    // RFC 5321 §4.5.3.2.1: a client waits 5 minutes for the greeting; a pause near that loses real mail.
                    if (c.Smtp.GreetPause > TimeSpan.FromSeconds(60)) throw new FormatException($"{name} must be at most 60 seconds");
                    break;
                default: throw Unknown(name);
            }
        }
        c.Smtp.Listeners = mx.Select(s => new ListenerOptions(Endpoint("smtp.listen", s), ListenerKind.Mx, requireTls, plaintextAuth))
            // plaintext_auth allows AUTH and submission without TLS (docs/configuration.md): the listener must not then
            // demand STARTTLS before the AUTH it offers.
            .Concat(submission.Select(s => new ListenerOptions(Endpoint("smtp.submission", s), ListenerKind.Submission, !plaintextAuth, plaintextAuth)))
            .Concat(submissions.Select(s => new ListenerOptions(Endpoint("smtp.submissions", s), ListenerKind.Submissions, true, plaintextAuth)))
            .ToList();
    }

    private static void Toggle(PostboteConfiguration c, SmtpExtensions e, bool on) =>
        c.Smtp.Extensions = on ? c.Smtp.Extensions | e : c.Smtp.Extensions & ~e;

    private static void ReadLimits(TomlTable t, PostboteConfiguration c)
    {
        var l = c.Smtp.Limits;
        foreach (var (k, v) in t)
        {
            string name = "limits." + k;
            switch (k)
            {
                case "message_size": l.MessageSize = Int(name, v, 1024, long.MaxValue); break;
                case "max_body_memory": l.MaxBodyMemory = Int(name, v, 0, long.MaxValue); break;
                case "recipients": l.RecipientsPerMessage = (int)Int(name, v, 1, 100_000); break;
                case "idle_timeout": l.IdleTimeout = Seconds(name, v); break;
                case "command_line_timeout": l.CommandLineTimeout = Seconds(name, v); break;
                case "min_data_rate": l.MinDataRate = (int)Int(name, v, 0, int.MaxValue); break;
                case "min_data_rate_grace": l.MinDataRateGracePeriod = Seconds(name, v); break;
                case "max_connections": l.MaxConnections = (int)Int(name, v, 1, 1_000_000); break;
                case "max_connections_per_ip": l.MaxConnectionsPerIp = (int)Int(name, v, 1, 1_000_000); break;
                case "max_errors": l.MaxErrors = (int)Int(name, v, 1, 10_000); break;
                case "shutdown_timeout": l.ShutdownTimeout = Seconds(name, v); break;
                case "hop_count_limit": l.HopCountLimit = (int)Int(name, v, 0, 10_000); break;
                default: throw Unknown(name);
            }
        }
    }

    private static void ReadDns(TomlTable t, DnsResolverOptions d)
    {
        foreach (var (k, v) in t)
        {
            string name = "dns." + k;
            switch (k)
            {
                case "servers":
                    d.Servers = Strings(name, v).Select(s => ResolvConf.TryParseServer(s, out IPEndPoint? server) ? server!
                        : throw new FormatException($"{name}: '{s}' is not an IP address with an optional port (e.g. 127.0.0.1:5353 or [::1]:53)")).ToList();
                    if (d.Servers.Count == 0)
                        throw new FormatException($"{name} must name at least one server (leave it out for those of {ResolvConf.DefaultPath})");
                    break;
                case "timeout": d.Timeout = Seconds(name, v); break;
                case "retries": d.Retries = (int)Int(name, v, 0, 10); break;
                case "cache_size": d.CacheSize = (int)Int(name, v, 0, 10_000_000); break;
                case "max_ttl": d.MaxTtl = Seconds(name, v); break;
                case "max_negative_ttl": d.MaxNegativeTtl = Seconds(name, v); break;
                default: throw Unknown(name);
            }
        }
    }

    private static string? ReadLocal(TomlTable t, PostboteConfiguration c)
    {
        string? maildirRoot = null;
        foreach (var (k, v) in t)
        {
            string name = "local." + k;
            switch (k)
            {
                case "domains": c.Local.Domains = Strings(name, v).Select(d => d.TrimEnd('.').ToLowerInvariant()).ToList(); break;
                case "mailboxes": c.Local.Mailboxes = Strings(name, v).Select(m => Address(name, m)).ToList(); break;
                case "catch_all": c.Local.CatchAll = Address(name, Str(name, v)); break;
                case "maildir_root": maildirRoot = Str(name, v); break;
                case "save_crlf": c.Local.SaveCrlf = Bool(name, v); break;
                case "aliases":
                    var aliases = new Dictionary<string, IList<string>>(StringComparer.OrdinalIgnoreCase);
                    foreach (var (alias, targets) in Table(name, v))
                    {
                        IList<string> list = targets is string one ? new List<string> { one } : Strings(name + "." + alias, targets);
                        aliases[Address(name, alias)] = list.Select(a => Address(name + "." + alias, a)).ToList();
                    }
                    c.Local.Aliases = aliases;
                    break;
                default: throw Unknown(name);
            }
        }
        return maildirRoot;
    }

    /// <summary>Tomlyn's message on one line: without the quoted source of an earlier definition (which spans lines),
    /// and its <c>(line,column)</c> said as a line.</summary>
    private static string Describe(string message)
    {
        int with = message.IndexOf(" with `", StringComparison.Ordinal);
        int end = with < 0 ? -1 : message.IndexOf("` and ", with + 7, StringComparison.Ordinal);
        string text = with < 0 || end < 0 ? message : message[..with] + message[(end + 1)..];
        text = System.Text.RegularExpressions.Regex.Replace(text, @"at \((\d+),\d+\)", "at line $1");
        return text.ReplaceLineEndings(" ");
    }

    /// <summary>The reason alone, on one line: without the " (Parameter 'X')" and "Actual value was …" that
    /// <see cref="ArgumentException.Message"/> appends.</summary>
    private static string OneLine(ArgumentException e)
    {
        string message = e.Message.Split('\n')[0].TrimEnd('\r');
        int parameter = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return parameter > 0 ? message[..parameter] : message;
    }

    private static FormatException Unknown(string key) => new($"unknown setting '{key}' (see docs/configuration.md)");

    private static string Str(string key, object? v) => v as string ?? throw new FormatException($"{key} must be a string");

    /// <summary>A host name for the greeting, EHLO and Received (RFC 5321 §4.1.2 Domain: letters, digits, hyphens and
    /// dots), not empty.</summary>
    private static string HostName(string key, object? v)
    {
        string s = Str(key, v);
        if (s.Length == 0 || s.Length > 253 || !s.All(static ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.') || s.StartsWith('.') || s.EndsWith('.'))
            throw new FormatException($"{key} must be a domain name (letters, digits, hyphens and dots), got '{Printable(s)}'");
        return s;
    }

    /// <summary>A file system path: not empty or blank, no NUL or other control character.</summary>
    private static string PathSetting(string key, object? v)
    {
        string s = Str(key, v);
        if (string.IsNullOrWhiteSpace(s) || s.Any(char.IsControl))
            throw new FormatException($"{key} must be a path (not empty, no control characters), got '{Printable(s)}'");
        return s;
    }

    private static string Printable(string s) => new(s.Select(static ch => char.IsControl(ch) ? '?' : ch).ToArray());

    private static bool Bool(string key, object? v) => v is bool b ? b : throw new FormatException($"{key} must be true or false");

    private static long Int(string key, object? v, long min, long max)
    {
        if (v is not long n) throw new FormatException($"{key} must be an integer");
        if (n < min || n > max) throw new FormatException($"{key} must be between {min} and {max}");
        return n;
    }

    private static TimeSpan Seconds(string key, object? v) => v switch
    {
        // TimeSpan.FromSeconds throws past ~29,000 years; anything above int.MaxValue seconds (68 years) is a typo.
        long n when n > int.MaxValue => throw new FormatException($"{key} must be at most {int.MaxValue} seconds"),
        double d when d > int.MaxValue => throw new FormatException($"{key} must be at most {int.MaxValue} seconds"),
        long n when n >= 0 => TimeSpan.FromSeconds(n),
        double d when d >= 0 => TimeSpan.FromSeconds(d),
        _ => throw new FormatException($"{key} must be a non-negative number of seconds"),
    };

    private static TomlTable Table(string key, object? v) => v as TomlTable ?? throw new FormatException($"[{key}] must be a table");

    private static IList<string> Strings(string key, object? v)
    {
        if (v is not TomlArray a) throw new FormatException($"{key} must be an array of strings");
        return a.Select(x => x as string ?? throw new FormatException($"{key} must be an array of strings")).ToList();
    }

    private static string Address(string key, string s)
    {
        int at = s.LastIndexOf('@');
        if (at <= 0 || at == s.Length - 1) throw new FormatException($"{key}: '{s}' is not an address user@domain");
        return s[..at] + "@" + s[(at + 1)..].TrimEnd('.').ToLowerInvariant();
    }

    private static IPEndPoint Endpoint(string key, string s)
    {
        if (IPEndPoint.TryParse(s, out IPEndPoint? ep) && ep.Port != 0 || s.EndsWith(":0", StringComparison.Ordinal) && IPEndPoint.TryParse(s, out ep))
            return ep!;
        int colon = s.LastIndexOf(':');
        if (colon > 0 && s[..colon] == "localhost" && int.TryParse(s[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port))
            return new IPEndPoint(IPAddress.Loopback, port);
        throw new FormatException($"{key}: '{s}' is not address:port (e.g. 127.0.0.1:25 or [::1]:25)");
    }

    private static IPNetwork Network(string key, string s)
    {
        if (IPNetwork.TryParse(s, out IPNetwork n)) return n;
        if (IPAddress.TryParse(s, out IPAddress? a)) return new IPNetwork(a, a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        throw new FormatException($"{key}: '{s}' is not a network such as 192.0.2.0/24");
    }
}
