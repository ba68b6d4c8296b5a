using System.Net;
using Postbote.Core;
using Postbote.Security;

namespace Postbote.Tests.Security;

/// <summary>The policy chain: order, the first refusal decides, header fields gathered in order, quarantine.</summary>
public sealed class PolicyChainTests
{
    private static readonly SessionInfo Session = new("s1", new IPEndPoint(IPAddress.Loopback, 4000), new IPEndPoint(IPAddress.Loopback, 25), false);
    private static readonly SmtpReply Refusal = new(SmtpReplyCode.TransactionFailed, new EnhancedStatusCode(5, 7, 1), "no");

    private sealed class Recording(string name, List<string> log, PolicyDecision? helo = null, PolicyDecision? data = null) : IInboundPolicy
    {
        public ValueTask<PolicyDecision> CheckHeloAsync(SessionInfo session, string heloName, CancellationToken cancellationToken)
        {
            log.Add(name + ":helo:" + heloName);
            return ValueTask.FromResult(helo ?? PolicyDecision.Accept);
        }

        public ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
        {
            log.Add(name + ":data");
            return ValueTask.FromResult(data ?? PolicyDecision.Accept);
        }
    }

    private static InboundMessage Message() =>
        new(new QueueId("0123456789ABCDEF"), new PolicyTransaction(null), [], default, true, 0, () => new MemoryStream());

    [Fact]
    public async Task TheFirstRefusalDecidesAndLaterPoliciesAreNotAsked()
    {
        var log = new List<string>();
        var chain = new PolicyChain([
            new Recording("a", log),
            new Recording("b", log, helo: PolicyDecision.Reject(Refusal, "b refuses")),
            new Recording("c", log),
        ]);

        PolicyDecision d = await chain.CheckHeloAsync(Session, "client.example", CancellationToken.None);

        Assert.Equal(PolicyVerdict.Reject, d.Verdict);
        Assert.Equal("b refuses", d.Reason);
        Assert.Same(Refusal, d.Reply);
        Assert.Equal(["a:helo:client.example", "b:helo:client.example"], log);
    }

    [Fact]
    public async Task HeaderFieldsOfEveryPolicyAreGatheredInChainOrderAndAnyOneQuarantines()
    {
        var log = new List<string>();
        var chain = new PolicyChain([
            new Recording("a", log, data: PolicyDecision.AcceptWith(["X-A: 1", "X-A: 2"])),
            new Recording("b", log),
            new Recording("c", log, data: PolicyDecision.AcceptWith(["X-C: 3"], quarantine: true, reason: "dmarc p=quarantine")),
        ]);

        PolicyDecision d = await chain.CheckDataAsync(Session, Message(), CancellationToken.None);

        Assert.Equal(PolicyVerdict.Accept, d.Verdict);
        Assert.Equal(["X-A: 1", "X-A: 2", "X-C: 3"], d.AddHeaders);
        Assert.True(d.Quarantine);
        Assert.Equal("dmarc p=quarantine", d.Reason);
        Assert.Equal(["a:data", "b:data", "c:data"], log);
    }

    [Fact]
    public async Task ARefusalAtTheEndOfDataDropsTheHeaderFieldsOfEarlierPolicies()
    {
        var log = new List<string>();
        var chain = new PolicyChain([
            new Recording("a", log, data: PolicyDecision.AcceptWith(["X-A: 1"])),
            new Recording("b", log, data: PolicyDecision.Defer(new SmtpReply(SmtpReplyCode.LocalError, new EnhancedStatusCode(4, 7, 1), "later"), "grey")),
        ]);

        PolicyDecision d = await chain.CheckDataAsync(Session, Message(), CancellationToken.None);

        Assert.Equal(PolicyVerdict.Defer, d.Verdict);
        Assert.Null(d.AddHeaders);
        Assert.Equal("451 4.7.1 later", d.Reply!.ToString().TrimEnd());
    }

    [Fact]
    public async Task StagesAPolicyDoesNotImplementAccept()
    {
        var chain = new PolicyChain([new Recording("a", [])]);

        Assert.Same(PolicyDecision.Accept, await chain.CheckConnectAsync(Session, CancellationToken.None));
        Assert.Same(PolicyDecision.Accept, await chain.CheckMailAsync(Session, new PolicyTransaction(null), CancellationToken.None));
        Assert.Same(PolicyDecision.Accept, await chain.CheckRecipientAsync(Session, new PolicyTransaction(null), new Mailbox("a", "b.example"), CancellationToken.None));
    }
}
