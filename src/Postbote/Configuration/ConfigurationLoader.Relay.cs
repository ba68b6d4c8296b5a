using Postbote.Delivery.Smtp;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>Reads the <c>[relay]</c> table: <c>port</c> (1–65535) and <c>connect_timeout</c> (0.1–3600 seconds).</summary>
    private static void ReadRelay(TomlTable t, SmtpRelayOptions r)
    {
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
                default: throw Unknown(name);
            }
        }
    }
}
