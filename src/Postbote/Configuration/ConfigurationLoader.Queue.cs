using Postbote.Queue;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>Reads <c>[queue]</c>: the retry schedule, the message lifetime, the delay notice time and the
    /// per-destination limits: concurrency, rate, recipients per delivery, messages per connection
    /// (docs/configuration.md).</summary>
    /// <exception cref="FormatException">An unknown key or a bad value; the message names the setting.</exception>
    private static void ReadQueue(TomlTable t, PostboteConfiguration c)
    {
        QueueSchedulerOptions q = c.Queue;
        foreach (var (k, v) in t)
        {
            string name = "queue." + k;
            switch (k)
            {
                case "retry_interval": q.RetryInterval = PositiveSeconds(name, v); break;
                case "max_retry_interval": q.MaxRetryInterval = PositiveSeconds(name, v); break;
                case "max_lifetime": q.MaxLifetime = PositiveSeconds(name, v); break;
                case "delay_warning_time": q.DelayWarningTime = Seconds(name, v); break;
                case "destination_concurrency": q.DestinationConcurrency = (int)Int(name, v, 1, 10_000); break;
                case "destination_rate_limit": q.DestinationRateLimit = (int)Int(name, v, 0, 1_000_000); break;
                case "destination_recipient_limit": q.DestinationRecipientLimit = (int)Int(name, v, 1, 100_000); break;
                case "connection_reuse_count_limit": c.Relay.MaxMessagesPerConnection = (int)Int(name, v, 1, 1_000_000); break;
                default: throw Unknown(name);
            }
        }
        if (q.MaxRetryInterval < q.RetryInterval)
        {
            throw new FormatException($"queue.max_retry_interval ({q.MaxRetryInterval.TotalSeconds} s) must not be shorter than queue.retry_interval ({q.RetryInterval.TotalSeconds} s)");
        }
    }

    private static TimeSpan PositiveSeconds(string key, object? v)
    {
        TimeSpan s = Seconds(key, v);
        return s > TimeSpan.Zero ? s : throw new FormatException($"{key} must be more than 0 seconds");
    }
}
