using System.Net;

namespace Postbote.Pop3;

/// <summary>The POP3 service as configured (<c>[pop3]</c>, see docs/configuration.md).</summary>
public sealed class Pop3ServerOptions
{
    /// <summary>The host name in the greeting. Defaults to the machine's name.</summary>
    public string HostName { get; set; } = System.Net.Dns.GetHostName();

    /// <summary>The listeners: clear text with STLS (<c>listen</c>) and implicit TLS (<c>listen_tls</c>). Defaults to
    /// none.</summary>
    public IList<Pop3ListenerOptions> Listeners { get; set; } = new List<Pop3ListenerOptions>();

    /// <summary>Whether USER/PASS and the SASL mechanisms that send the password in clear (PLAIN, LOGIN) may be used
    /// before TLS (<c>[pop3] plaintext_auth</c>). Defaults to false (RFC 2595 §2.2: clients should not send a password
    /// in clear; Postbote does not offer the means to).</summary>
    public bool AllowPlaintextAuth { get; set; }

    /// <summary>How long after a POP3 login the client's address may relay through SMTP (<c>[pop3] smtp_after_pop</c>);
    /// <see cref="TimeSpan.Zero"/> (the default) turns SMTP-after-POP off.</summary>
    public TimeSpan SmtpAfterPop { get; set; }

    /// <summary>The limits and timeouts.</summary>
    public Pop3ServerLimits Limits { get; set; } = new();

    /// <summary>The default listeners of the embedded default: 127.0.0.1:2110 (STLS) and 127.0.0.1:2995 (implicit TLS).</summary>
    /// <returns>The two listeners.</returns>
    public static IList<Pop3ListenerOptions> LoopbackDefaults() => new List<Pop3ListenerOptions>
    {
        new(new IPEndPoint(IPAddress.Loopback, 2110)),
        new(new IPEndPoint(IPAddress.Loopback, 2995), ImplicitTls: true),
    };
}
