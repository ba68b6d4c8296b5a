using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postbote.Dns;

/// <summary>Turns a name given by a caller into the form sent in a query: A-labels, lower case, no trailing dot.</summary>
internal static class DnsName
{
    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = false, AllowUnassigned = false };

    /// <summary>The query form of <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Not a domain name: empty, an empty label, a label over 63 octets or a name
    /// over 253 (RFC 1035 §2.3.4), or characters that are neither letters, digits, hyphen nor underscore.</exception>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = name.EndsWith('.') ? name[..^1] : name;
        if (n.Length == 0) throw new ArgumentException("'' is not a domain name", nameof(name));
        if (!Ascii.IsValid(n))
        {
            try
            {
                n = Idn.GetAscii(n);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"'{name}' is not a domain name: {e.Message}", nameof(name), e);
            }
        }
        n = Lower(n);
        // RFC 1035 §2.3.4: "labels 63 octets or less", "names 255 octets or less" (253 characters written as text).
        if (n.Length > 253) throw new ArgumentException($"'{name}' is not a domain name: longer than 253 characters", nameof(name));
        foreach (Range label in n.AsSpan().Split('.'))
        {
            if (n.AsSpan()[label].Length is 0 or > 63)
                throw new ArgumentException($"'{name}' is not a domain name: a label is empty or longer than 63 characters", nameof(name));
            foreach (char c in n.AsSpan()[label])
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                    throw new ArgumentException($"'{name}' is not a domain name: '{c}' is not allowed", nameof(name));
            }
        }
        return n;
    }

    /// <summary>The query form of <paramref name="name"/> under <paramref name="syntax"/>: host names as
    /// <see cref="Normalize(string)"/>; any text: printable US-ASCII and spaces in labels of 1 to 63 octets, at most 253
    /// characters, lower case, no trailing dot.</summary>
    /// <exception cref="ArgumentException">Not a name of that syntax.</exception>
    public static string Normalize(string name, DnsNameSyntax syntax)
    {
        if (syntax == DnsNameSyntax.HostName) return Normalize(name);
        ArgumentNullException.ThrowIfNull(name);
        string n = name.EndsWith('.') ? name[..^1] : name;
        if (n.Length is 0 or > 253) throw new ArgumentException($"'{name}' is not a domain name: empty or longer than 253 characters", nameof(name));
        foreach (Range label in n.AsSpan().Split('.'))
        {
            if (n.AsSpan()[label].Length is 0 or > 63)
                throw new ArgumentException($"'{name}' is not a domain name: a label is empty or longer than 63 characters", nameof(name));
            foreach (char c in n.AsSpan()[label])
            {
                if (c is < ' ' or > '~') throw new ArgumentException($"'{name}' is not a domain name: a character is not printable US-ASCII", nameof(name));
            }
        }
        return Lower(n);
    }

    /// <summary>The name in lower case; the same string when it has no upper-case letter (names are looked up for every
    /// message, mostly already in lower case).</summary>
    private static string Lower(string n) => n.AsSpan().IndexOfAnyInRange('A', 'Z') < 0 && Ascii.IsValid(n) ? n : n.ToLowerInvariant();

    /// <summary>The reverse-lookup name of an address: <c>d.c.b.a.in-addr.arpa</c> (RFC 1035 §3.5) or the 32 nibbles under
    /// <c>ip6.arpa</c> (RFC 3596 §2.5).</summary>
    public static string Reverse(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        byte[] bytes = address.GetAddressBytes();
        var s = new StringBuilder(73);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            for (int i = bytes.Length - 1; i >= 0; i--) s.Append(bytes[i].ToString(CultureInfo.InvariantCulture)).Append('.');
            return s.Append("in-addr.arpa").ToString();
        }
        for (int i = bytes.Length - 1; i >= 0; i--)
        {
            s.Append("0123456789abcdef"[bytes[i] & 0xF]).Append('.');
            s.Append("0123456789abcdef"[bytes[i] >> 4]).Append('.');
        }
        return s.Append("ip6.arpa").ToString();
    }

    /// <summary>A name from an answer as Postbote writes names: lower case, no trailing dot; the root is <c>"."</c>.</summary>
    public static string FromAnswer(string value)
    {
        if (value is "." or "") return ".";
        return (value.EndsWith('.') ? value[..^1] : value).ToLowerInvariant();
    }
}
