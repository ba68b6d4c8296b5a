using Microsoft.Extensions.Logging;
using Postbote.Dns;
using Postbote.Host.Configuration;
using Postbote.Security;
using Postbote.Security.Ube;

namespace Postbote.Host.Startup;

/// <summary>
/// Builds the inbound policy chain from the configuration, in the order its policies run: first what refuses cheaply
/// (relay rules), then what asks DNS or reads the message. One place, so the order is visible.
/// </summary>
internal static class InboundPolicies
{
    /// <summary>Builds the chain.</summary>
    /// <param name="configuration">The configuration.</param>
    /// <param name="relay">The relay policy (local / unknown / relay, sender binding), always first.</param>
    /// <param name="dns">The resolver policies look names up with.</param>
    /// <param name="loggers">Where policies log.</param>
    /// <param name="time">The clock.</param>
    /// <returns>The chain.</returns>
    public static PolicyChain Build(PostboteConfiguration configuration, RelayPolicy relay, IDnsResolver dns, ILoggerFactory loggers,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var policies = new List<IInboundPolicy> { relay };
        AddUbePolicies(policies, configuration, dns, loggers, time);
        return new PolicyChain(policies);
    }

    /// <summary>The defences against unsolicited bulk mail, each behind its settings: DNSBL/DNSWL, rate limits,
    /// greylisting (the early-talker pause is the session's, <c>[smtp] greet_pause</c>).</summary>
    /// <exception cref="IOException">The greylist's directory or file cannot be opened.</exception>
    private static void AddUbePolicies(List<IInboundPolicy> policies, PostboteConfiguration c, IDnsResolver dns, ILoggerFactory loggers,
        TimeProvider time)
    {
        DnsListPolicy? lists = null;
        if (c.DnsLists.BlockLists.Count > 0 || c.DnsLists.AllowLists.Count > 0)
        {
            ILogger log = loggers.CreateLogger<DnsListPolicy>();
            lists = new DnsListPolicy(c.DnsLists, new DnsListClient(dns, log), log);
            if (c.DnsLists.BlockLists.Count > 0) policies.Add(lists);
        }
        if (c.RateLimits.Any) policies.Add(new RateLimitPolicy(c.RateLimits, c.Smtp.HostName, time));
        if (c.Greylist.Enabled)
        {
            var store = new FileGreylistStore(c.GreylistDirectory, c.Greylist, time, loggers.CreateLogger<FileGreylistStore>());
            policies.Add(new GreylistPolicy(c.Greylist, store, lists, time, loggers.CreateLogger<GreylistPolicy>()));
        }
    }
}
