using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace Postbote.Tests.Architecture;

/// <summary>The DNS resolver's place in docs/architecture.md: it depends on no server part, and the queue knows no DNS.</summary>
public class DnsLayeringTests
{
    private static readonly ArchUnitNET.Domain.Architecture Code = new ArchLoader().LoadAssemblies(
        typeof(Postbote.Core.Envelope).Assembly,
        typeof(Postbote.Dns.DnsResolver).Assembly).Build();

    [Fact]
    public void DnsReachesNoServerPart() =>
        Types().That().ResideInNamespace("Postbote.Dns")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^Postbote\.(Smtp|Queue|Delivery|Security|Net|Protocol|IO|Routing|MailStore)(\..*)?$"))
            .Because("relaying and sender checks use the resolver, not the other way round")
            .Check(Code);

    [Fact]
    public void QueueKnowsNoDns() =>
        Types().That().ResideInNamespace("Postbote.Queue")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^(Postbote\.Dns|DnsClient)(\..*)?$"))
            .Because("the scheduler speaks neither SMTP nor DNS")
            .Check(Code);
}
