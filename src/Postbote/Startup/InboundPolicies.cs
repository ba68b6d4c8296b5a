using Microsoft.Extensions.Logging;
using Postbote.Dns;
using Postbote.Host.Configuration;
using Postbote.Security;

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
        return new PolicyChain(policies);
    }
}
