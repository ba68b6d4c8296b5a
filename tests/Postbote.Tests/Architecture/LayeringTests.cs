using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace Postbote.Tests.Architecture;

/// <summary>
/// The arrows of docs/architecture.md, checked on the compiled code. Each rule covers a namespace with all of its
/// sub-namespaces (<c>Postbote.Security</c> includes <c>Postbote.Security.Sasl</c>, <c>Postbote.Security.Users</c> and
/// <c>Postbote.Security.Ube</c>):
/// the protocol layer reaches no sockets, storage or server code; the queue speaks no SMTP; receiving never calls
/// delivery; security decides without delivering; routing, the Maildir store and the file helpers stand below the parts
/// that use them; the transport knows no protocol on top of it.
/// </summary>
public class LayeringTests
{
    private static readonly ArchUnitNET.Domain.Architecture Code = new ArchLoader().LoadAssemblies(
        typeof(Postbote.Core.Envelope).Assembly,
        typeof(Postbote.Smtp.SmtpServer).Assembly,
        typeof(Postbote.Host.Control.ControlServer).Assembly).Build();

    /// <summary>Every namespace of the three assemblies, each with its sub-namespaces; the rules below say what each may
    /// reach. The executable's own namespaces (Host: the composition root, the command line, configuration) may reach
    /// everything, except Host.Control.</summary>
    private static readonly string[] KnownNamespaces =
        ["Core", "Protocol", "IO", "Net", "Smtp", "Pop3", "Queue", "Routing", "MailStore", "Delivery", @"Security\.Spf", @"Security\.Dkim", @"Security\.Dmarc", "Security", "Dns", "Dkim", "Tracing", @"Host\.Control", @"Host\.Sendmail", "Host"];

    /// <summary>A pattern for the named <c>Postbote.*</c> namespaces and all their sub-namespaces.</summary>
    private static string Postbote(params string[] names) => $@"^Postbote\.({string.Join('|', names)})(\..*)?$";

    [Fact]
    public void EveryNamespaceIsCoveredByTheseRules() =>
        Types().That().ResideInNamespaceMatching(@"^Postbote(\..*)?$")
            .Should().ResideInNamespaceMatching(Postbote(KnownNamespaces))
            .Because("a new namespace needs its place in docs/architecture.md and its rules here")
            .Check(Code);

    [Fact]
    public void ProtocolReachesNoSocketsStorageOrServer() =>
        Types().That().ResideInNamespaceMatching(Postbote("Protocol"))
            .Should().NotDependOnAny(Types(includeReferenced: true).That().ResideInNamespaceMatching(
                @"^(System\.Net\.Sockets|System\.Net\.Security|System\.IO)(\..*)?$|" + Postbote("IO", "Net", "Smtp", "Pop3", "Queue", "Routing", "MailStore", "Delivery", "Security", "Dns")))
            .Because("the wire formats are pure and fuzzable on their own")
            .Check(Code);

    [Fact]
    public void CoreValueTypesReachNoServerCode() =>
        Types().That().ResideInNamespaceMatching(Postbote("Core"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(
                Postbote("Protocol", "IO", "Net", "Smtp", "Queue", "Routing", "MailStore", "Delivery", "Security", "Dns")))
            .Check(Code);

    [Fact]
    public void FileHelpersStandBelowEverythingButCore() =>
        Types().That().ResideInNamespaceMatching(Postbote("IO"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(
                Postbote("Protocol", "Net", "Smtp", "Queue", "Routing", "MailStore", "Delivery", "Security", "Dns")))
            .Because("the spool, the user file and Maildir delivery share them")
            .Check(Code);

    [Fact]
    public void TracingStandsBelowThePartsThatReport() =>
        Types().That().ResideInNamespaceMatching(Postbote("Tracing"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(
                Postbote("Protocol", "IO", "Net", "Smtp", "Pop3", "Queue", "Routing", "MailStore", "Delivery", "Security", "Dns", "Host")))
            .Because("receiving, the queue, delivery and policy all report to it, so it can use none of them")
            .Check(Code);

    [Fact]
    public void QueueSpeaksNoSmtp() =>
        Types().That().ResideInNamespaceMatching(Postbote("Queue"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(
                Postbote("Protocol", "Net", "Smtp", "Routing", "MailStore", "Delivery", "Security", "Dns")))
            .Because("the committed spool entry is the only contract between receiving and delivering")
            .Check(Code);

    [Fact]
    public void SendmailQueuesWithoutReceivingOrDelivering() =>
        Types().That().ResideInNamespaceMatching(Postbote(@"Host\.Sendmail"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(Postbote("Smtp", "Delivery", "MailStore", "Routing", "Security")))
            .Because("sendmail talks SMTP to the server as a client, and its pickup files enter the spool like any message")
            .Check(Code);

    [Fact]
    public void ReceivingNeverCallsDelivery() =>
        Types().That().ResideInNamespaceMatching(Postbote("Smtp"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(Postbote("Delivery", "MailStore")))
            .Check(Code);

    [Fact]
    public void SpfIsDnsAloneAndReadsNoMessage() =>
        Types().That().ResideInNamespaceMatching(Postbote(@"Security\.Spf"))
            .Should().NotDependOnAny(Types(includeReferenced: true).That().ResideInNamespaceMatching(@"^MimeKit(\..*)?$|" + Postbote("Smtp", "Queue", "MailStore", "Delivery")))
            .Because("check_host() needs the client address, the identity and DNS, nothing of the message")
            .Check(Code);

    [Fact]
    public void SecurityDecidesWithoutDelivering() =>
        Types().That().ResideInNamespaceMatching(Postbote("Security"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(Postbote("Smtp", "Delivery", "MailStore", "Queue")))
            .Because("policy asks Routing which recipients are local, and neither delivers nor queues")
            .Check(Code);

    [Fact]
    public void RoutingIsSharedByPolicyAndDelivery() =>
        Types().That().ResideInNamespaceMatching(Postbote("Routing"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(
                Postbote("Protocol", "IO", "Net", "Smtp", "Queue", "MailStore", "Delivery", "Security", "Dns")))
            .Because("both the relay policy and delivery use it, so it can use neither")
            .Check(Code);

    [Fact]
    public void MailStoreKnowsOnlyFiles() =>
        Types().That().ResideInNamespaceMatching(Postbote("MailStore"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(
                Postbote("Protocol", "Net", "Smtp", "Queue", "Routing", "Delivery", "Security")))
            .Because("delivery writes into it and a POP3 server will read it")
            .Check(Code);

    [Fact]
    public void DeliveryDoesNotReachIntoReceiving() =>
        Types().That().ResideInNamespaceMatching(Postbote("Delivery"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(Postbote("Smtp", "Security")))
            .Check(Code);

    [Fact]
    public void DkimSignsStreamsAndKnowsNoServerPart() =>
        Types().That().ResideInNamespaceMatching(Postbote("Dkim"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(
                Postbote("Protocol", "IO", "Net", "Smtp", "Pop3", "Queue", "Routing", "MailStore", "Delivery", "Security", "Dns")))
            .Because("the signer and the sealer read a message stream that delivery opens, with keys the host loads")
            .Check(Code);

    [Fact]
    public void TransportKnowsNoProtocolAboveIt() =>
        Types().That().ResideInNamespace("Postbote.Net")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^Postbote\.(Smtp|Pop3|Protocol\.Smtp|Protocol\.Pop3)(\..*)?$"))
            .Because("the listener and the connection serve SMTP today and POP3 tomorrow")
            .Check(Code);

    [Fact]
    public void ControlSocketSteersOnlyTheQueue() =>
        Types().That().ResideInNamespaceMatching(Postbote(@"Host\.Control"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(
                Postbote("Protocol", "Net", "Smtp", "Routing", "MailStore", "Delivery", "Security", "Dns", @"Host\.Cli", @"Host\.Configuration", @"Host\.Startup")))
            .Because("the control socket reaches the queue only through IQueueControl")
            .Check(Code);

    [Fact]
    public void Pop3ReachesTheStoreThroughAnInterface() =>
        Types().That().ResideInNamespaceMatching(Postbote("Pop3"))
            .Should().NotDependOnAny(Types().That().ResideInNamespace("Postbote.MailStore").And().HaveNameStartingWith("Maildir"))
            .Because("the POP3 session sees a maildrop (IMaildropStore, IMaildrop), not the Maildir files behind it")
            .Check(Code);

    [Fact]
    public void Pop3NeitherReceivesNorDelivers() =>
        Types().That().ResideInNamespaceMatching(Postbote("Pop3"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(Postbote("Smtp", "Queue", "Delivery", "Routing")))
            .Check(Code);

    [Fact]
    public void NothingBelowThePop3ServiceUsesIt() =>
        Types().That().ResideInNamespaceMatching(Postbote("Core", "Protocol", "IO", "Net", "Smtp", "Queue", "Routing", "MailStore", "Delivery", "Security", "Dns"))
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(Postbote("Pop3")))
            .Because("SMTP-after-POP reaches the relay policy through Security.ISmtpAfterPop")
            .Check(Code);
}
