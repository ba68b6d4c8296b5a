using Postbote.Security.Dmarc;
using Postbote.Security.Spf;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary><c>[spf]</c>: <c>enabled</c>, <c>fail_action</c> ("reject" or "record"), <c>temperror_action</c>
    /// ("record" or "defer").</summary>
    /// <param name="t">The table.</param>
    /// <param name="o">The settings to fill.</param>
    /// <exception cref="FormatException">An unknown key or a bad value; one line naming the setting.</exception>
    private static void ReadSpf(TomlTable t, SpfOptions o)
    {
        foreach (var (k, v) in t)
        {
            string name = "spf." + k;
            switch (k)
            {
                case "enabled": o.Enabled = Bool(name, v); break;
                case "fail_action":
                    o.FailAction = Str(name, v) switch
                    {
                        "reject" => SpfFailAction.Reject,
                        "record" => SpfFailAction.Record,
                        _ => throw new FormatException($"{name} must be \"reject\" or \"record\""),
                    };
                    break;
                case "temperror_action":
                    o.TemperrorAction = Str(name, v) switch
                    {
                        "defer" => SpfFailAction.Reject,
                        "record" => SpfFailAction.Record,
                        _ => throw new FormatException($"{name} must be \"record\" or \"defer\""),
                    };
                    break;
                default: throw Unknown(name);
            }
        }
    }

    /// <summary><c>[dmarc]</c>: <c>enabled</c>, <c>policy_action</c> ("honour" or "record"), <c>public_suffix_list</c>
    /// (a file, read at start-up).</summary>
    /// <param name="t">The table.</param>
    /// <param name="o">The settings to fill.</param>
    /// <exception cref="FormatException">An unknown key or a bad value; one line naming the setting.</exception>
    private static void ReadDmarc(TomlTable t, DmarcOptions o)
    {
        foreach (var (k, v) in t)
        {
            string name = "dmarc." + k;
            switch (k)
            {
                case "enabled": o.Enabled = Bool(name, v); break;
                case "policy_action":
                    o.Honour = Str(name, v) switch
                    {
                        "honour" => true,
                        "record" => false,
                        _ => throw new FormatException($"{name} must be \"honour\" or \"record\""),
                    };
                    break;
                case "public_suffix_list":
                    string path = PathSetting(name, v);
                    if (!File.Exists(path)) throw new FormatException($"{name}: {path} does not exist");
                    o.PublicSuffixListPath = path;
                    break;
                default: throw Unknown(name);
            }
        }
    }
}
