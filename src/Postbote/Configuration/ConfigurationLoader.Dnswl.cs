using Postbote.Security.Ube;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>Reads <c>[dnswl]</c>: <c>zones</c>, the allow lists (as <c>[dnsbl] zones</c>); a client listed in one
    /// skips the DNSBL check and greylisting.</summary>
    /// <exception cref="FormatException">An unknown key or a bad value; one line naming the setting.</exception>
    private static void ReadDnswl(TomlTable t, DnsListOptions d)
    {
        foreach (var (k, v) in t)
        {
            string name = "dnswl." + k;
            switch (k)
            {
                case "zones": d.AllowLists = DnsLists(name, v); break;
                default: throw Unknown(name);
            }
        }
    }
}
