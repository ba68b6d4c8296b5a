using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Postbote.Dns;

/// <summary>Reads the system's resolvers from <c>/etc/resolv.conf</c> (resolv.conf(5)), the default of
/// <c>dns.servers</c>.</summary>
public static class ResolvConf
{
    /// <summary>The file the system's stub resolver reads.</summary>
    public const string DefaultPath = "/etc/resolv.conf";

    /// <summary>The DNS port, 53 (RFC 1035 §4.2).</summary>
    public const int DnsPort = 53;

    /// <summary>The servers named by the <c>nameserver</c> lines of a resolv.conf file, each on port 53, in the file's
    /// order. As resolv.conf(5) says, a file without <c>nameserver</c> lines (or no file) means the name server on the
    /// local machine, 127.0.0.1. Comment lines (<c>#</c> or <c>;</c>) and addresses that do not parse are skipped.</summary>
    /// <param name="path">The file, normally <see cref="DefaultPath"/>.</param>
    /// <returns>At least one server.</returns>
    /// <exception cref="IOException">The file exists but cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static IReadOnlyList<IPEndPoint> ReadNameServers(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var servers = new List<IPEndPoint>();
        if (File.Exists(path))
        {
            foreach (string raw in File.ReadLines(path))
            {
                string line = raw.Trim();
                if (line.Length == 0 || line[0] is '#' or ';') continue;
                string[] words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length >= 2 && words[0] == "nameserver" && IPAddress.TryParse(words[1], out IPAddress? address))
                    servers.Add(new IPEndPoint(address, DnsPort));
            }
        }
        if (servers.Count == 0) servers.Add(new IPEndPoint(IPAddress.Loopback, DnsPort));
        return servers;
    }

    /// <summary>Parses one <c>dns.servers</c> entry: an IP address with an optional port, <c>127.0.0.1</c>,
    /// <c>127.0.0.1:5353</c>, <c>::1</c> or <c>[::1]:5353</c>. Host names are refused: no resolver exists yet to look
    /// them up.</summary>
    /// <param name="text">The entry.</param>
    /// <param name="server">The server, port 53 when none is given.</param>
    /// <returns>Whether <paramref name="text"/> is such an entry.</returns>
    public static bool TryParseServer(string? text, out IPEndPoint? server)
    {
        server = null;
        if (string.IsNullOrEmpty(text)) return false;
        string host = text;
        int port = DnsPort;
        bool bracketed = text.StartsWith('[');
        if (bracketed)
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return false;
            host = text[1..close];
            string rest = text[(close + 1)..];
            if (rest.Length > 0 && (rest[0] != ':' || !TryParsePort(rest[1..], out port))) return false;
        }
        else if (text.Count(c => c == ':') == 1)
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            host = text[..colon];
            if (!TryParsePort(text[(colon + 1)..], out port)) return false;
        }
        if (!IPAddress.TryParse(host, out IPAddress? address)) return false;
        bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        // IPAddress.TryParse also takes "127.1" and "2130706433"; only the dotted quad is an IPv4 address here.
        if (bracketed && !v6 || !v6 && host.Count(c => c == '.') != 3) return false;
        server = new IPEndPoint(address, port);
        return true;
    }

    private static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
}
