using System.Globalization;
using System.Net;

namespace Postbote.Routing;

/// <summary>
/// A fixed next hop for some recipients, as written in <c>[relay.transports]</c> or <c>[relay] smarthost</c>, in the
/// notation of Postfix's transport(5) table: <c>smtp:[host]:port</c>, <c>lmtp:[host]:port</c> or <c>lmtp:unix:/path</c>.
/// The brackets say "this host, no MX lookup" (RFC 5321 §5.1 applies only to a domain without them).
/// </summary>
/// <param name="Kind">SMTP or LMTP.</param>
/// <param name="Host">The host name or IP address literal (without brackets); <c>null</c> for a unix domain socket.</param>
/// <param name="Port">The TCP port (1-65535); 0 for a unix domain socket.</param>
/// <param name="UnixPath">The absolute path of the unix domain socket, or <c>null</c> for TCP.</param>
public sealed record Transport(TransportKind Kind, string? Host, int Port, string? UnixPath)
{
    /// <summary>The port SMTP uses when a transport names none (RFC 5321 §4.5.4.2 does not fix it; 25 is the MX port).</summary>
    public const int DefaultSmtpPort = 25;

    /// <summary>The port LMTP uses when a transport names none: 24, the port IANA lists for LMTP.</summary>
    public const int DefaultLmtpPort = 24;

    /// <summary>Whether the transport goes to a unix domain socket.</summary>
    public bool IsUnix => UnixPath is not null;

    /// <summary>The endpoint to connect to: an <see cref="System.Net.Sockets.UnixDomainSocketEndPoint"/>, an <see cref="IPEndPoint"/> for an
    /// address literal, or a <see cref="DnsEndPoint"/> for a host name (resolved through Postbote's resolver, never the
    /// machine's).</summary>
    public EndPoint EndPoint => UnixPath is { } path
        ? new System.Net.Sockets.UnixDomainSocketEndPoint(path)
        : IPAddress.TryParse(Host, out IPAddress? ip) ? new IPEndPoint(ip, Port) : new DnsEndPoint(Host!, Port);

    /// <summary>The transport in its written form, e.g. <c>smtp:[127.0.0.1]:2600</c>; also the scheduler's destination key.</summary>
    /// <returns>The canonical text.</returns>
    public override string ToString()
    {
        string scheme = Kind == TransportKind.Lmtp ? "lmtp" : "smtp";
        if (UnixPath is { } path) return scheme + ":unix:" + path;
        return string.Create(CultureInfo.InvariantCulture, $"{scheme}:[{Host}]:{Port}");
    }

    /// <summary>Parses <c>smtp:[host]:port</c>, <c>lmtp:[host]:port</c>, <c>lmtp:unix:/path</c>, or with
    /// <paramref name="defaultKind"/> the bare <c>[host]:port</c> / <c>[host]</c> of a smarthost. The port may be left out
    /// (25 for SMTP, 24 for LMTP); an IPv6 literal goes in the brackets (<c>[::1]:2525</c>).</summary>
    /// <param name="text">The transport text.</param>
    /// <param name="defaultKind">The kind when <paramref name="text"/> has no <c>smtp:</c>/<c>lmtp:</c> prefix, or
    /// <c>null</c> when the prefix is required.</param>
    /// <returns>The transport.</returns>
    /// <exception cref="FormatException">The text is none of these forms; the message says why in one line.</exception>
    public static Transport Parse(string text, TransportKind? defaultKind = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        TransportKind kind;
        if (t.StartsWith("smtp:", StringComparison.OrdinalIgnoreCase)) { kind = TransportKind.Smtp; t = t[5..]; }
        else if (t.StartsWith("lmtp:", StringComparison.OrdinalIgnoreCase)) { kind = TransportKind.Lmtp; t = t[5..]; }
        else if (defaultKind is { } k) kind = k;
        else throw new FormatException($"'{text}' does not start with smtp: or lmtp:");

        if (t.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            string path = t[5..];
            if (kind != TransportKind.Lmtp) throw new FormatException($"'{text}': a unix socket is for lmtp: only");
            if (!Path.IsPathFullyQualified(path)) throw new FormatException($"'{text}': the socket path must be absolute");
            return new Transport(kind, null, 0, path);
        }
        if (!t.StartsWith('[')) throw new FormatException($"'{text}': the host goes in brackets, e.g. [mail.example.net]:25");
        int close = t.IndexOf(']', StringComparison.Ordinal);
        if (close < 0) throw new FormatException($"'{text}': no closing bracket");
        string host = t[1..close];
        if (host.Length == 0 || host.Length > 253 || host.Any(c => c <= ' ' || c == '/' || c == '@'))
        {
            throw new FormatException($"'{text}': '{host}' is not a host name or IP address");
        }
        if (host.Contains(':') && !IPAddress.TryParse(host, out _)) throw new FormatException($"'{text}': '{host}' is not an IPv6 address");
        string rest = t[(close + 1)..];
        int port = kind == TransportKind.Lmtp ? DefaultLmtpPort : DefaultSmtpPort;
        if (rest.Length > 0)
        {
            if (rest[0] != ':' || !int.TryParse(rest.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                throw new FormatException($"'{text}': the port must be a number from 1 to 65535 after a colon");
            }
        }
        return new Transport(kind, host.TrimEnd('.').ToLowerInvariant(), port, null);
    }
}
