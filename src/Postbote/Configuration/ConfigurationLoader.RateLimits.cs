using Postbote.Security.Ube;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>Reads <c>[rate_limits]</c>: <c>connections_per_client</c> (per minute), <c>messages_per_client</c>,
    /// <c>messages_per_user</c> and <c>recipients_per_client</c> (per hour); 0 turns one off.</summary>
    /// <exception cref="FormatException">An unknown key or a bad value; one line naming the setting.</exception>
    private static void ReadRateLimits(TomlTable t, RateLimitOptions r)
    {
        foreach (var (k, v) in t)
        {
            string name = "rate_limits." + k;
            switch (k)
            {
                case "connections_per_client": r.ConnectionsPerClient = (int)Int(name, v, 0, 1_000_000); break;
                case "messages_per_client": r.MessagesPerClient = (int)Int(name, v, 0, 1_000_000); break;
                case "messages_per_user": r.MessagesPerUser = (int)Int(name, v, 0, 1_000_000); break;
                case "recipients_per_client": r.RecipientsPerClient = (int)Int(name, v, 0, 10_000_000); break;
                default: throw Unknown(name);
            }
        }
    }
}
