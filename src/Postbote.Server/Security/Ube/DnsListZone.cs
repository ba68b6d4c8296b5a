using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Postbote.Security.Ube;

/// <summary>
/// One DNS list (RFC 5782) to ask: its zone and, optionally, the answers that count as a listing, written as Postfix's
/// <c>postscreen_dnsbl_sites</c> writes them: <c>zen.example.org</c> (any A record in 127.0.0.0/8 counts),
/// <c>zen.example.org=127.0.0.2</c> (only that address), <c>zen.example.org=127.0.0.[2..11]</c> (a range in one octet),
/// <c>list.example=127.0.[0;1].[2;4..7]</c> (lists of numbers and ranges in brackets). Each of the four octets of the
/// filter is a number 0–255, or brackets holding numbers and ranges <c>a..b</c> separated by <c>;</c>.
/// </summary>
public sealed class DnsListZone
{
    private readonly (int Low, int High)[][]? _octets;

    private DnsListZone(string zone, string? filter, (int Low, int High)[][]? octets)
    {
        Zone = zone;
        Filter = filter;
        _octets = octets;
    }

    /// <summary>The zone, lower case, without a trailing dot, e.g. <c>zen.example.org</c>.</summary>
    public string Zone { get; }

    /// <summary>The filter as written after <c>=</c>, or <c>null</c> when any 127.0.0.0/8 answer counts.</summary>
    public string? Filter { get; }

    /// <summary>Parses <c>zone</c> or <c>zone=filter</c>.</summary>
    /// <param name="text">The entry as configured.</param>
    /// <returns>The list.</returns>
    /// <exception cref="FormatException">The zone is not a domain name or the filter is not four octets as described
    /// above; the message says which part is wrong.</exception>
    public static DnsListZone Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        string zone = (eq < 0 ? text : text[..eq]).Trim().TrimEnd('.').ToLowerInvariant();
        if (zone.Length == 0 || zone.Length > 200 || zone.Split('.').Any(static l => l.Length is 0 or > 63
                || !l.All(static ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_')))
            throw new FormatException($"'{text}' does not start with a DNS zone such as zen.example.org");
        if (eq < 0) return new DnsListZone(zone, null, null);
        string filter = text[(eq + 1)..].Trim();
        List<string> parts = SplitOctets(filter);
        if (parts.Count != 4) throw new FormatException($"'{text}': the answer filter '{filter}' needs four octets, e.g. 127.0.0.2 or 127.0.0.[2..11]");
        var octets = new (int, int)[4][];
        for (int i = 0; i < 4; i++) octets[i] = Octet(text, parts[i]);
        return new DnsListZone(zone, filter, octets);
    }

    /// <summary>Splits at the dots outside brackets (a range <c>[2..11]</c> has dots of its own).</summary>
    private static List<string> SplitOctets(string filter)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < filter.Length; i++)
        {
            if (filter[i] == '[') depth++;
            else if (filter[i] == ']') depth--;
            else if (filter[i] == '.' && depth == 0)
            {
                parts.Add(filter[start..i]);
                start = i + 1;
            }
        }
        parts.Add(filter[start..]);
        return parts;
    }

    private static (int Low, int High)[] Octet(string text, string part)
    {
        FormatException Bad() => new($"'{text}': '{part}' is not an octet filter (a number 0-255, or [a..b] / [a;b;c] in brackets)");
        if (part.Length > 2 && part[0] == '[' && part[^1] == ']')
        {
            var items = new List<(int, int)>();
            foreach (string item in part[1..^1].Split(';'))
            {
                int dots = item.IndexOf("..", StringComparison.Ordinal);
                if (dots < 0) { int n = Number(item) ?? throw Bad(); items.Add((n, n)); }
                else
                {
                    int low = Number(item[..dots]) ?? throw Bad(), high = Number(item[(dots + 2)..]) ?? throw Bad();
                    if (low > high) throw Bad();
                    items.Add((low, high));
                }
            }
            return items.ToArray();
        }
        int one = Number(part) ?? throw Bad();
        return [(one, one)];
    }

    private static int? Number(string s) =>
        s.Length is > 0 and <= 3 && s.All(char.IsAsciiDigit) && int.Parse(s, CultureInfo.InvariantCulture) is var n and <= 255 ? n : null;

    /// <summary>Whether an A record the list returned counts as a listing: it matches the filter, or, without a filter,
    /// lies in 127.0.0.0/8 (RFC 5782 §2.1: list entries are A records in 127.0.0.0/8; an answer elsewhere is a
    /// wildcard or a parked domain, not a listing).</summary>
    /// <param name="answer">An address from the A RRset.</param>
    /// <returns><c>true</c> when it lists the client.</returns>
    public bool Matches(IPAddress answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        if (answer.AddressFamily != AddressFamily.InterNetwork) return false;
        Span<byte> b = stackalloc byte[4];
        answer.TryWriteBytes(b, out _);
        if (_octets is null) return b[0] == 127;
        for (int i = 0; i < 4; i++)
        {
            bool hit = false;
            foreach ((int low, int high) in _octets[i]) hit |= b[i] >= low && b[i] <= high;
            if (!hit) return false;
        }
        return true;
    }

    /// <summary>The name to look up for a client (RFC 5782 §2.1, §2.4): the IPv4 address's octets in reverse order, or
    /// the IPv6 address's 32 nibbles in reverse order, each a lower-case hex digit, then the zone. An IPv4-mapped IPv6
    /// address is asked as IPv4.</summary>
    /// <param name="client">The client's address.</param>
    /// <returns>For example <c>2.0.0.127.zen.example.org</c>.</returns>
    public string QueryName(IPAddress client)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (client.IsIPv4MappedToIPv6) client = client.MapToIPv4();
        Span<byte> b = stackalloc byte[16];
        client.TryWriteBytes(b, out int length);
        var name = new System.Text.StringBuilder(80);
        if (length == 4)
        {
            for (int i = 3; i >= 0; i--) name.Append(CultureInfo.InvariantCulture, $"{b[i]}.");
        }
        else
        {
            // RFC 5782 §2.4: as in ip6.arpa (RFC 3596 §2.5), the address as 32 nibbles, least significant first.
            for (int i = 15; i >= 0; i--)
            {
                name.Append("0123456789abcdef"[b[i] & 0xF]).Append('.');
                name.Append("0123456789abcdef"[b[i] >> 4]).Append('.');
            }
        }
        return name.Append(Zone).ToString();
    }

    /// <inheritdoc />
    public override string ToString() => Filter is null ? Zone : Zone + "=" + Filter;
}
