using Microsoft.Extensions.Logging;
using Postbote.Dns;
using Postbote.Host.Configuration;
using Postbote.Security;
using Postbote.Security.Dkim;
using Postbote.Security.Dmarc;
using Postbote.Security.Spf;
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
    /// <exception cref="IOException">The configured Public Suffix List cannot be read.</exception>
    /// <exception cref="FormatException">The configured Public Suffix List holds no rule.</exception>
    public static PolicyChain Build(PostboteConfiguration configuration, RelayPolicy relay, IDnsResolver dns, ILoggerFactory loggers,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(loggers);
        // The hop count next: a message in a mail loop (RFC 5321 §6.3) is refused before anything asks DNS about it.
        var policies = new List<IInboundPolicy> { relay, new HopCountPolicy(configuration.Smtp.Limits.HopCountLimit) };
        AddUbePolicies(policies, configuration, dns, loggers, time);
        if (configuration.Spf.Enabled)
            policies.Add(new SpfPolicy(new SpfChecker(dns, time), configuration.Spf, configuration.Smtp.HostName, loggers.CreateLogger("Postbote.Security.Spf")));
        if (configuration.DkimVerify)
            policies.Add(new DkimVerifyPolicy(new DkimSignatureVerifier(new DnsDkimPublicKeyLocator(dns)), loggers.CreateLogger("Postbote.Security.Dkim")));
        // ARC verify: after DKIM verify, before DMARC (which may take a passing chain into account).
        if (configuration.Arc.Verify) policies.Add(new ArcVerifyPolicy(dns, loggers.CreateLogger<ArcVerifyPolicy>()));
        if (configuration.Dmarc.Enabled)
        {
            PublicSuffixList suffixes = configuration.Dmarc.PublicSuffixListPath is { } path ? PublicSuffixList.Load(path) : PublicSuffixList.LoadEmbedded();
            policies.Add(new DmarcPolicy(dns, suffixes, configuration.Dmarc, Random.Shared, loggers.CreateLogger("Postbote.Security.Dmarc")));
        }
        policies.Add(new AuthenticationResultsPolicy(configuration.Smtp.HostName,
            configuration.Spf.Enabled || configuration.DkimVerify || configuration.Dmarc.Enabled));
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
