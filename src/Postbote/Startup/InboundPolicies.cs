using Microsoft.Extensions.Logging;
using Postbote.Dns;
using Postbote.Host.Configuration;
using Postbote.Security;
using Postbote.Security.Dkim;
using Postbote.Security.Dmarc;
using Postbote.Security.Spf;

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
        var policies = new List<IInboundPolicy> { relay };
        // connection / UBE policies (DNSBL, rate limits, early talker, greylisting) go here.
        if (configuration.Spf.Enabled)
            policies.Add(new SpfPolicy(new SpfChecker(dns, time), configuration.Spf, configuration.Smtp.HostName, loggers.CreateLogger("Postbote.Security.Spf")));
        if (configuration.DkimVerify)
            policies.Add(new DkimVerifyPolicy(new DnsDkimPublicKeyLocator(dns), loggers.CreateLogger("Postbote.Security.Dkim")));
        // ARC verify goes here, before DMARC.
        if (configuration.Dmarc.Enabled)
        {
            PublicSuffixList suffixes = configuration.Dmarc.PublicSuffixListPath is { } path ? PublicSuffixList.Load(path) : PublicSuffixList.LoadEmbedded();
            policies.Add(new DmarcPolicy(dns, suffixes, configuration.Dmarc, Random.Shared, loggers.CreateLogger("Postbote.Security.Dmarc")));
        }
        // hop count goes here.
        policies.Add(new AuthenticationResultsPolicy(configuration.Smtp.HostName,
            configuration.Spf.Enabled || configuration.DkimVerify || configuration.Dmarc.Enabled));
        return new PolicyChain(policies);
    }
}
