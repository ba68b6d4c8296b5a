using Postbote.Security.Ube;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>Reads <c>[dnsbl]</c>: <c>zones</c> (block lists, each <c>zone</c> or <c>zone=filter</c>, see
    /// <see cref="DnsListZone"/>) and <c>action</c> (<c>"reject"</c> or <c>"record"</c>).</summary>
    /// <exception cref="FormatException">An unknown key or a bad value; one line naming the setting.</exception>
    private static void ReadDnsbl(TomlTable t, DnsListOptions d)
    {
        foreach (var (k, v) in t)
        {
            string name = "dnsbl." + k;
            switch (k)
            {
                case "zones": d.BlockLists = DnsLists(name, v); break;
                case "action":
                    d.Action = Str(name, v) switch
                    {
                        "reject" => DnsListAction.Reject,
                        "record" => DnsListAction.Record,
                        string other => throw new FormatException($"{name} must be \"reject\" or \"record\", got '{Printable(other)}'"),
                    };
                    break;
                default: throw Unknown(name);
            }
        }
    }

    private static List<DnsListZone> DnsLists(string key, object? v)
    {
        var lists = new List<DnsListZone>();
        foreach (string s in Strings(key, v))
        {
            try
            {
                lists.Add(DnsListZone.Parse(s));
            }
            catch (FormatException e)
            {
                throw new FormatException($"{key}: {e.Message}", e);
            }
        }
        return lists;
    }
}
