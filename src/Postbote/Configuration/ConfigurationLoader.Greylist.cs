using Postbote.Security.Ube;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>Reads <c>[greylist]</c>: <c>enabled</c>, <c>delay</c>, <c>retry_window</c>, <c>expire</c> (seconds),
    /// <c>network_prefix_v4</c>, <c>network_prefix_v6</c> (bits), and checks them together.</summary>
    /// <exception cref="FormatException">An unknown key or a bad value; one line naming the setting.</exception>
    private static void ReadGreylist(TomlTable t, GreylistOptions g)
    {
        foreach (var (k, v) in t)
        {
            string name = "greylist." + k;
            switch (k)
            {
                case "enabled": g.Enabled = Bool(name, v); break;
                case "delay": g.Delay = PositiveSeconds(name, v); break;
                case "retry_window": g.RetryWindow = PositiveSeconds(name, v); break;
                case "expire": g.Expire = PositiveSeconds(name, v); break;
                case "network_prefix_v4": g.NetworkPrefixV4 = (int)Int(name, v, 8, 32); break;
                case "network_prefix_v6": g.NetworkPrefixV6 = (int)Int(name, v, 16, 128); break;
                default: throw Unknown(name);
            }
        }
        try
        {
            g.Validate();
        }
        catch (ArgumentException e)
        {
            throw new FormatException(OneLine(e), e);
        }
    }
}
