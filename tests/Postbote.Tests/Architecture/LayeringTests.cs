using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace Postbote.Tests.Architecture;

/// <summary>
/// The arrows of docs/architecture.md, checked on the compiled code: the protocol layer reaches no sockets, storage or
/// server code; the queue speaks no SMTP; receiving never calls delivery; the transport knows no protocol on top of it.
/// </summary>
public class LayeringTests
{
    private static readonly ArchUnitNET.Domain.Architecture Code = new ArchLoader().LoadAssemblies(
        typeof(Postbote.Core.Envelope).Assembly,
        typeof(Postbote.Smtp.SmtpServer).Assembly).Build();

    [Fact]
    public void ProtocolReachesNoSocketsStorageOrServer() =>
        Types().That().ResideInNamespace("Postbote.Protocol.Smtp")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^(System\.Net\.Sockets|System\.IO\.Pipelines|Postbote\.(Smtp|Queue|Delivery|Security|Net))(\..*)?$"))
            .Because("the wire formats are pure and fuzzable on their own")
            .Check(Code);

    [Fact]
    public void CoreValueTypesReachNoServerCode() =>
        Types().That().ResideInNamespace("Postbote.Core")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^Postbote\.(Smtp|Queue|Delivery|Security|Net|Protocol)(\..*)?$"))
            .Check(Code);

    [Fact]
    public void QueueSpeaksNoSmtp() =>
        Types().That().ResideInNamespace("Postbote.Queue")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^Postbote\.(Smtp|Protocol\.Smtp|Security|Delivery)(\..*)?$"))
            .Because("the committed spool entry is the only contract between receiving and delivering")
            .Check(Code);

    [Fact]
    public void ReceivingNeverCallsDelivery() =>
        Types().That().ResideInNamespace("Postbote.Smtp")
            .Should().NotDependOnAny(Types().That().ResideInNamespace("Postbote.Delivery"))
            .Check(Code);

    [Fact]
    public void DeliveryDoesNotReachIntoTheSmtpSession() =>
        Types().That().ResideInNamespace("Postbote.Delivery")
            .Should().NotDependOnAny(Types().That().ResideInNamespace("Postbote.Smtp"))
            .Check(Code);

    [Fact]
    public void TransportKnowsNoProtocolAboveIt() =>
        Types().That().ResideInNamespace("Postbote.Net")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^Postbote\.(Smtp|Protocol\.Smtp)(\..*)?$"))
            .Because("the listener and the connection serve SMTP today and POP3 tomorrow")
            .Check(Code);
}
