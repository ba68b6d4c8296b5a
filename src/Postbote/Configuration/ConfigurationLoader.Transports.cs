using Postbote.Routing;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>
    /// <c>[relay.transports]</c>: recipient domain (or <c>.domain</c> for its subdomains) to a fixed next hop,
    /// <c>"example.net" = "smtp:[127.0.0.1]:2600"</c>, <c>"example.com" = "lmtp:unix:/run/dovecot/lmtp"</c>.
    /// </summary>
    /// <param name="key">The table's name for messages, <c>relay.transports</c>.</param>
    /// <param name="value">The TOML value.</param>
    /// <returns>The table.</returns>
    /// <exception cref="FormatException">Not a table of strings, a key that is not a domain name, or a value that is not
    /// a transport; one line naming the entry.</exception>
    internal static TransportTable ReadTransports(string key, object? value)
    {
        var entries = new List<KeyValuePair<string, Transport>>();
        foreach (var (domain, v) in Table(key, value))
        {
            string name = $"{key}.\"{domain}\"";
            string d = domain.Trim().TrimEnd('.');
            string bare = d.StartsWith('.') ? d[1..] : d;
            if (bare.Length == 0 || bare.Length > 253 || !bare.All(static ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.')
                || bare.StartsWith('.') || bare.Contains("..", StringComparison.Ordinal))
            {
                throw new FormatException($"{name}: '{Printable(domain)}' is not a domain name (or .domain for its subdomains)");
            }
            try
            {
                entries.Add(new(d, Transport.Parse(Str(name, v))));
            }
            catch (FormatException e) when (v is string)
            {
                throw new FormatException($"{name}: {e.Message} (use smtp:[host]:port, lmtp:[host]:port or lmtp:unix:/path)");
            }
        }
        return new TransportTable(entries);
    }

    /// <summary><c>[relay] smarthost</c>: the next hop for every remote domain without a transport of its own,
    /// <c>"[smtp.provider.example]:587"</c> (Postfix's <c>relayhost</c>).</summary>
    /// <param name="key">The setting's name for messages.</param>
    /// <param name="value">The TOML value.</param>
    /// <returns>An SMTP transport.</returns>
    /// <exception cref="FormatException">Not <c>[host]</c> or <c>[host]:port</c> (an <c>smtp:</c> prefix is allowed,
    /// <c>lmtp:</c> is not).</exception>
    internal static Transport ReadSmarthost(string key, object? value)
    {
        string s = Str(key, value);
        Transport t;
        try
        {
            t = Transport.Parse(s, TransportKind.Smtp);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{key}: {e.Message} (use [host]:port)");
        }
        if (t.Kind != TransportKind.Smtp || t.IsUnix) throw new FormatException($"{key}: '{s}' must be an SMTP server, [host]:port");
        return t;
    }
}
