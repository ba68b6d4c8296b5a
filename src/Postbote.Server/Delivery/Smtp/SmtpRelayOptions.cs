using System.Net;
using Postbote.Routing;

namespace Postbote.Delivery.Smtp;

/// <summary>The settings of <see cref="SmtpDeliveryAgent"/>: the <c>[relay]</c> table of docs/configuration.md, and
/// the limits of its connection cache.</summary>
public sealed class SmtpRelayOptions
{
    /// <summary>The TCP port of the recipients' mail exchangers (setting <c>relay.port</c>). Defaults to 25, the SMTP
    /// port (RFC 5321 §4.5.4.2); tests point it at loopback servers on other ports. From 1 to 65535.</summary>
    public int Port { get; set; } = 25;

    /// <summary>How long a TCP connection attempt to one address may take before the next address or mail exchanger is
    /// tried (setting <c>relay.connect_timeout</c>). Defaults to 30 seconds, as Postfix's <c>smtp_connect_timeout</c>.
    /// From 0.1 to 3600 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The name this server gives in EHLO, HELO and LHLO (setting <c>relay.helo_name</c>, as Postfix's
    /// <c>smtp_helo_name</c>); the composition root sets it to the top-level <c>hostname</c> when the setting is left
    /// out.</summary>
    public string HeloName { get; set; } = "localhost";

    /// <summary>This server's own host name (the top-level <c>hostname</c>, which its greeting and EHLO reply give): a
    /// remote server whose greeting or EHLO reply names it is this server (or one that calls itself the same), and mail
    /// for that destination loops back (RFC 5321 §6.3; Postfix: "mail for D loops back to myself"). <c>null</c> turns
    /// that check off.</summary>
    public string? OwnHostName { get; set; }

    /// <summary>The local IPv4 address outgoing SMTP connections are made from (setting <c>relay.bind_address</c>, as
    /// Postfix's <c>smtp_bind_address</c>), or <c>null</c> to let the system choose.</summary>
    public IPAddress? BindAddress { get; set; }

    /// <summary>The local IPv6 address outgoing SMTP connections are made from (setting <c>relay.bind_address6</c>, as
    /// Postfix's <c>smtp_bind_address6</c>), or <c>null</c> to let the system choose.</summary>
    public IPAddress? BindAddress6 { get; set; }

    /// <summary>Which address family of a mail exchanger is tried first (setting <c>relay.address_preference</c>, as
    /// Postfix's <c>smtp_address_preference</c>). Default <see cref="Smtp.AddressPreference.Any"/>.</summary>
    public AddressPreference AddressPreference { get; set; } = AddressPreference.Any;

    /// <summary>The endpoints this server's SMTP listeners are bound to: a mail exchanger or next hop at one of them is
    /// this server, and mail for that destination loops back. Empty by default (no check).</summary>
    public OwnEndpoints OwnEndpoints { get; set; } = new();

    /// <summary>The most <c>Received:</c> header fields a relayed message may carry (setting
    /// <c>limits.hop_count_limit</c>); a message with more is failed with 5.4.6 before any connection, as the next hop
    /// would take it for a loop. Default 100 (RFC 5321 §6.3: "normally at least 100 Received entries"); 0 turns the
    /// check off.</summary>
    public int HopCountLimit { get; set; } = 100;

    /// <summary>The per-command waits of RFC 5321 §4.5.3.2.</summary>
    public SmtpClientTimeouts Timeouts { get; set; } = new();

    /// <summary>How long a connection that finished a message is kept open for the next message to the same server
    /// before it is closed with QUIT. Defaults to 2 seconds, as Postfix's <c>smtp_connection_cache_time_limit</c>.</summary>
    public TimeSpan IdleTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The most idle connections kept per server (name, address and port). Defaults to 20, the default
    /// <c>[queue] destination_concurrency</c>: every delivery running to a destination can hand its connection to the
    /// next message (with 4, a load of 20 parallel deliveries carried about 2.5 messages per connection; with 20, about
    /// 89).</summary>
    public int MaxIdlePerHost { get; set; } = 20;

    /// <summary>The most messages one connection carries before it is closed (setting
    /// <c>queue.connection_reuse_count_limit</c>). Defaults to 100, as Postfix's <c>smtp_connection_reuse_count_limit</c>
    /// bounds reuse.</summary>
    public int MaxMessagesPerConnection { get; set; } = 100;

    /// <summary>Fixed next hops per recipient domain (setting <c>relay.transports</c>): SMTP to a host, or LMTP to a host
    /// or a unix domain socket. A domain found here is never looked up in DNS for its MX. Default: none.</summary>
    public TransportTable Transports { get; set; } = TransportTable.Empty;

    /// <summary>The next hop of every remote domain without a transport of its own (setting <c>relay.smarthost</c>,
    /// Postfix's <c>relayhost</c>), or <c>null</c> to go by MX. Must be an SMTP transport.</summary>
    public Transport? Smarthost { get; set; }

    /// <summary>The user name and password for SMTP AUTH at the smarthost (settings <c>relay.smarthost_username</c>,
    /// <c>relay.smarthost_password</c>), or <c>null</c> for none. With a credential, the smarthost must offer STARTTLS:
    /// the password never goes over clear text.</summary>
    public NetworkCredential? SmarthostCredential { get; set; }

    /// <summary>Signs (DKIM) and seals (ARC) relayed messages (settings <c>[[dkim.sign]]</c> and <c>[arc]</c>), or
    /// <c>null</c> to relay them as queued. Default: none.</summary>
    public OutboundSigning? Signing { get; set; }

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names the setting and the reason.</exception>
    public void Validate()
    {
        if (Port is < 1 or > 65535) throw new ArgumentException("relay.port must be between 1 and 65535");
        if (ConnectTimeout < TimeSpan.FromSeconds(0.1) || ConnectTimeout > TimeSpan.FromHours(1))
            throw new ArgumentException("relay.connect_timeout must be between 0.1 and 3600 seconds");
        if (string.IsNullOrEmpty(HeloName)) throw new ArgumentException("hostname must not be empty");
        if (IdleTime < TimeSpan.Zero) throw new ArgumentException("the connection idle time must not be negative");
        if (MaxIdlePerHost < 0) throw new ArgumentException("the idle connections per host must not be negative");
        if (MaxMessagesPerConnection < 1) throw new ArgumentException("queue.connection_reuse_count_limit must be at least 1");
        if (BindAddress is { } v4 && v4.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            throw new ArgumentException("relay.bind_address must be an IPv4 address");
        if (BindAddress6 is { } v6 && v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            throw new ArgumentException("relay.bind_address6 must be an IPv6 address");
        if (HopCountLimit < 0) throw new ArgumentException("limits.hop_count_limit must not be negative");
        if (Smarthost is { } hop && (hop.Kind != TransportKind.Smtp || hop.IsUnix))
            throw new ArgumentException("relay.smarthost must be an SMTP server, [host]:port");
        if (SmarthostCredential is not null && Smarthost is null)
            throw new ArgumentException("relay.smarthost_username needs relay.smarthost");
        Timeouts.Validate();
    }
}
