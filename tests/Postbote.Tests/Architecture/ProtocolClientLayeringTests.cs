using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace Postbote.Tests.Architecture;

/// <summary>The client side of the protocol layer is as pure as the server side: no sockets, pipes, storage or server
/// code, so the remote SMTP and LMTP agents bring the transport and the layer stays testable on its own.</summary>
public class ProtocolClientLayeringTests
{
    private static readonly ArchUnitNET.Domain.Architecture Code = new ArchLoader().LoadAssemblies(
        typeof(Postbote.Core.Envelope).Assembly,
        typeof(Postbote.Smtp.SmtpServer).Assembly).Build();

    [Fact]
    public void ClientSideReachesNoSocketsStorageOrServer() =>
        Types().That().ResideInNamespace("Postbote.Protocol.Smtp.Client")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^(System\.Net\.Sockets|System\.Net\.Security|System\.IO\.Pipelines|Postbote\.(Smtp|Queue|Delivery|Security|Net))(\..*)?$"))
            .Because("the wire formats are pure and fuzzable on their own")
            .Check(Code);

    [Fact]
    public void ClientSideTypesExist() =>
        Assert.Contains(Code.Types, t => t.Namespace.FullName == "Postbote.Protocol.Smtp.Client" && t.Name == "SmtpReplyParser");
}
