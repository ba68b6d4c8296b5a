using System.Net;
using Postbote.Protocol.Smtp;

namespace Postbote.Smtp;

/// <summary>The SMTP service as configured: name, listeners, extensions, trusted networks and limits.</summary>
public sealed class SmtpServerOptions
{
    /// <summary>The host name in the greeting, the EHLO reply and Received headers. Defaults to the machine's name.</summary>
    public string HostName { get; set; } = System.Net.Dns.GetHostName();

    /// <summary>The listeners. Defaults to one MX listener on 127.0.0.1:2525.</summary>
    public IList<ListenerOptions> Listeners { get; set; } = new List<ListenerOptions> { new(new IPEndPoint(IPAddress.Loopback, 2525)) };

    /// <summary>The extensions EHLO advertises and the session honours. Defaults to <see cref="SmtpExtensions.Default"/>.</summary>
    public SmtpExtensions Extensions { get; set; } = SmtpExtensions.Default;

    /// <summary>Networks whose clients may relay (send to non-local domains). Defaults to loopback.</summary>
    public IList<IPNetwork> TrustedNetworks { get; set; } = new List<IPNetwork> { IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128") };

    /// <summary>Whether VRFY answers <c>252 2.0.0</c> (RFC 5321 §3.5.3); otherwise <c>502 5.5.1</c>. Defaults to true.</summary>
    public bool Vrfy { get; set; } = true;

    /// <summary>Whether EXPN answers <c>252 2.0.0</c> instead of <c>502 5.5.1</c>. Defaults to false: mailing list
    /// contents are not disclosed (RFC 5321 §7.3).</summary>
    public bool Expn { get; set; }

    /// <summary>How long an MX listener waits before its greeting (<c>[smtp] greet_pause</c>, Postfix postscreen's
    /// <c>postscreen_greet_wait</c>): a client that sends anything before the greeting is an early talker (RFC 5321
    /// §3.1: the client waits for the greeting) and gets <c>554 5.5.1 Error: SMTP protocol violation</c> and is closed.
    /// Clients in the trusted networks are greeted at once. Defaults to zero: no pause.</summary>
    public TimeSpan GreetPause { get; set; }

    /// <summary>The limits and timeouts.</summary>
    public SmtpServerLimits Limits { get; set; } = new();

    /// <summary>Whether <paramref name="address"/> is in <see cref="TrustedNetworks"/>.</summary>
    /// <param name="address">A client address; IPv4-mapped IPv6 addresses are compared as IPv4.</param>
    /// <returns><c>true</c> when trusted.</returns>
    public bool IsTrusted(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (IPNetwork n in TrustedNetworks) if (n.Contains(address)) return true;
        return false;
    }
}
