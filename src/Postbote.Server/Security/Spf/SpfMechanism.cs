using System.Net;

namespace Postbote.Security.Spf;

/// <summary>The mechanisms of RFC 7208 §5.</summary>
internal enum SpfMechanismKind
{
    All,
    Include,
    A,
    Mx,
    Ptr,
    Ip4,
    Ip6,
    Exists,
}

/// <summary>One directive of a record, RFC 7208 §4.6.1 <c>directive = [ qualifier ] mechanism</c>.</summary>
/// <param name="Result">The result when it matches: the qualifier (§4.6.2: "+" pass, "-" fail, "~" softfail, "?" neutral).</param>
/// <param name="Kind">The mechanism.</param>
/// <param name="DomainSpec">The domain-spec (a macro-string), or <c>null</c> when the mechanism has none.</param>
/// <param name="Network">For ip4 and ip6: the network address.</param>
/// <param name="Cidr4">The IPv4 prefix length, 0 to 32.</param>
/// <param name="Cidr6">The IPv6 prefix length, 0 to 128.</param>
internal sealed record SpfMechanism(SpfResult Result, SpfMechanismKind Kind, string? DomainSpec, IPAddress? Network, int Cidr4, int Cidr6)
{
    /// <summary>Whether evaluating it asks DNS and so counts against the limit of 10 (RFC 7208 §4.6.4).</summary>
    public bool QueriesDns => Kind is SpfMechanismKind.Include or SpfMechanismKind.A or SpfMechanismKind.Mx or SpfMechanismKind.Ptr or SpfMechanismKind.Exists;
}
