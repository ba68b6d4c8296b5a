using Postbote.Host.Admin;
using Postbote.Tracing;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>Reads <c>[admin]</c>: the HTTP listener's addresses and the users allowed on the queue page
    /// (docs/configuration.md).</summary>
    /// <exception cref="FormatException">An unknown key or a bad value; the message names the setting.</exception>
    private static void ReadAdmin(TomlTable t, AdminOptions a)
    {
        foreach (var (k, v) in t)
        {
            string name = "admin." + k;
            switch (k)
            {
                case "listen": a.Listen = Strings(name, v).Select(s => Endpoint(name, s)).ToList(); break;
                case "users":
                    a.Users = Strings(name, v).Select(u => u.Trim().Length > 0 && !u.Any(char.IsWhiteSpace) ? u.Trim()
                        : throw new FormatException($"{name}: \"{u}\" is not a user name")).ToList();
                    break;
                default: throw Unknown(name);
            }
        }
    }

    /// <summary>Reads <c>[trace]</c>: how long and how much of the message trace is kept (docs/configuration.md).</summary>
    /// <exception cref="FormatException">An unknown key or a bad value; the message names the setting.</exception>
    private static void ReadTrace(TomlTable t, TraceOptions o)
    {
        foreach (var (k, v) in t)
        {
            string name = "trace." + k;
            switch (k)
            {
                case "retention": o.Retention = PositiveSeconds(name, v); break;
                case "max_size": o.MaxSize = Int(name, v, 1024 * 1024, long.MaxValue); break;
                default: throw Unknown(name);
            }
        }
    }
}
