using Postbote.Delivery.Smtp;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>Reads the <c>[relay]</c> table: <c>port</c> (1–65535), <c>connect_timeout</c> (0.1–3600 seconds),
    /// <c>smarthost</c>, <c>smarthost_username</c> and <c>smarthost_password</c>, the outbound identity
    /// (<c>helo_name</c>, <c>bind_address</c>, <c>bind_address6</c>, <c>address_preference</c>), and the
    /// <c>[relay.transports]</c> table.</summary>
    private static void ReadRelay(TomlTable t, PostboteConfiguration c)
    {
        SmtpRelayOptions r = c.Relay;
        string? user = null, password = null;
        foreach (var (k, v) in t)
        {
            string name = "relay." + k;
            switch (k)
            {
                case "port": r.Port = (int)Int(name, v, 1, 65535); break;
                case "connect_timeout":
                    r.ConnectTimeout = Seconds(name, v);
                    if (r.ConnectTimeout < TimeSpan.FromSeconds(0.1) || r.ConnectTimeout > TimeSpan.FromHours(1))
                        throw new FormatException($"{name} must be between 0.1 and 3600 seconds");
                    break;
                case "transports": r.Transports = ReadTransports(name, v); break;
                case "smarthost": r.Smarthost = ReadSmarthost(name, v); break;
                case "smarthost_username":
                    user = Str(name, v);
                    if (user.Length == 0 || user.Any(char.IsControl)) throw new FormatException($"{name} must be a user name without control characters");
                    break;
                case "smarthost_password":
                    password = Str(name, v);
                    if (password.Length == 0 || password.Contains('\0')) throw new FormatException($"{name} must be a non-empty password without NUL");
                    break;
                case "helo_name": c.HeloName = HostName(name, v); break;
                case "bind_address": r.BindAddress = BindAddress(name, v, System.Net.Sockets.AddressFamily.InterNetwork, "an IPv4 address such as 192.0.2.25"); break;
                case "bind_address6": r.BindAddress6 = BindAddress(name, v, System.Net.Sockets.AddressFamily.InterNetworkV6, "an IPv6 address such as 2001:db8::25"); break;
                case "address_preference":
                    r.AddressPreference = Str(name, v) switch
                    {
                        "any" => AddressPreference.Any,
                        "ipv4" => AddressPreference.IPv4,
                        "ipv6" => AddressPreference.IPv6,
                        _ => throw new FormatException($"{name} must be \"any\", \"ipv4\" or \"ipv6\""),
                    };
                    break;
                default: throw Unknown(name);
            }
        }
        if (user is null != (password is null)) throw new FormatException("relay.smarthost_username and relay.smarthost_password go together");
        if (user is not null && r.Smarthost is null) throw new FormatException("relay.smarthost_username needs relay.smarthost");
        if (user is not null) r.SmarthostCredential = new System.Net.NetworkCredential(user, password);
    }

    /// <summary>A local source address of one family, without a port or brackets.</summary>
    private static System.Net.IPAddress BindAddress(string key, object? v, System.Net.Sockets.AddressFamily family, string example)
    {
        string s = Str(key, v);
        if (!System.Net.IPAddress.TryParse(s, out System.Net.IPAddress? address) || address.AddressFamily != family || s.Contains('%'))
            throw new FormatException($"{key} must be {example}, got '{Printable(s)}'");
        return address;
    }
}
