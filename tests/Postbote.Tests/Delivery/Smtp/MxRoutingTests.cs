using System.Text.Json.Nodes;
using Postbote.Core;
using Postbote.Delivery.Smtp;
using Postbote.Dns;
using Postbote.Queue;
using Z = Postbote.Testing.Dns.PostboteTestZones;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>Where the agent connects (RFC 5321 §5.1, RFC 7505), against nsd on loopback and receivers on 127.0.0.x.</summary>
[Collection(RelayDnsCollection.Name)]
public sealed class MxRoutingTests(RelayDnsFixture dns)
{
    private const string Body = "Subject: route\r\n\r\nx\r\n";

    private SmtpDeliveryAgentTests Helper => new(dns);

    [Fact]
    public async Task ThreeMxAtTwoPreferencesFallBackToTheHigherPreferenceWhenBothLowerOnesRefuse()
    {
        // Only mx3 (preference 20) listens; mx1 and mx2 (preference 10) refuse the connection.
        await using var receiver = await ScriptedReceiver.StartAsync(["127.0.0.13"]);
        using var message = new RelayTestMessage(Body, "bob@" + Z.ThreeMx);
        await using var agent = Helper.Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal($"{Z.Mx3}[127.0.0.13]:{receiver.Port}", result.RemoteHost);
    }

    [Fact]
    public async Task EqualPreferencesAreTriedInRandomOrderAndTheLowerPreferenceAlwaysFirst()
    {
        var resolver = new DnsResolver(new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) });
        var mx = await resolver.LookupMxAsync(Z.ThreeMx);
        var random = new Random(7);
        var firsts = new HashSet<string>();
        for (int i = 0; i < 40; i++)
        {
            IReadOnlyList<MxRecord> order = DestinationResolver.Order(mx.Records, random);
            Assert.Equal(Z.Mx3, order[2].Exchange);
            firsts.Add(order[0].Exchange);
        }
        Assert.Equal([Z.Mx1, Z.Mx2], firsts.Order());
    }

    [Fact]
    public async Task TheAgentSpreadsMessagesOverMailExchangersOfEqualPreference()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(["127.0.0.11", "127.0.0.12", "127.0.0.13"]);
        await using var agent = new SmtpDeliveryAgent(
            new DnsResolver(new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) }),
            new SmtpRelayOptions { Port = receiver.Port, HeloName = "relay.postbote.test", IdleTime = TimeSpan.Zero },
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SmtpDeliveryAgent>.Instance, random: new Random(3));
        var hosts = new List<string>();
        for (int i = 0; i < 12; i++)
        {
            using var message = new RelayTestMessage(Body, "bob@" + Z.ThreeMx);
            hosts.Add(Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None)).RemoteHost!);
        }

        Assert.Contains($"{Z.Mx1}[127.0.0.11]:{receiver.Port}", hosts);
        Assert.Contains($"{Z.Mx2}[127.0.0.12]:{receiver.Port}", hosts);
        Assert.DoesNotContain($"{Z.Mx3}[127.0.0.13]:{receiver.Port}", hosts);
    }

    [Fact]
    public async Task DomainWithoutMxGoesToItsAddress()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(["127.0.0.21"]);
        using var message = new RelayTestMessage(Body, "bob@" + Z.AddressOnly);
        await using var agent = Helper.Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal($"{Z.AddressOnly}[127.0.0.21]:{receiver.Port}", result.RemoteHost);
    }

    [Fact]
    public async Task NullMxFailsAtOnceWith5110()
    {
        await using var agent = Helper.Agent(1);
        using var message = new RelayTestMessage(Body, "bob@" + Z.NullMx);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Equal($"556 5.1.10 domain {Z.NullMx} accepts no mail (null MX)", result.ReplyText);
        Assert.Null(result.RemoteHost);
    }

    [Fact]
    public async Task DomainThatDoesNotExistFailsPermanentlyWith512()
    {
        await using var agent = Helper.Agent(1);
        using var message = new RelayTestMessage(Body, "bob@" + Z.Missing);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal($"PermanentFailure 550 5.1.2 domain {Z.Missing} does not exist (NXDOMAIN)", result.Outcome + " " + result.ReplyText);
    }

    [Fact]
    public async Task DnsServerFailureIsTemporaryWith443()
    {
        await using var agent = Helper.Agent(1);
        using var message = new RelayTestMessage(Body, "bob@x." + Z.ServFailZone);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.TemporaryFailure, result.Outcome);
        Assert.Equal(new EnhancedStatusCode(4, 4, 3), result.Reply.Status);
        Assert.StartsWith($"451 4.4.3 MX lookup of x.{Z.ServFailZone} failed: ", result.ReplyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MxThatRefusesConnectionsIsDeferredWith441AndTheLastError()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(["127.0.0.98"]); // only for a port nothing uses on .99
        await using var agent = Helper.Agent(receiver.Port);
        using var message = new RelayTestMessage(Body, "bob@" + Z.DeadMx);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.TemporaryFailure, result.Outcome);
        Assert.Equal($"451 4.4.1 no mail exchanger of {Z.DeadMx} took the message; last error: 451 4.4.1 connect to mx.{Z.DeadMx}[127.0.0.99]:{receiver.Port}: Connection refused",
            result.ReplyText);
    }

    [Fact]
    public async Task MxThatRefusesConnectionsIsSkippedForTheNextOne()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(["127.0.0.34"]);
        await using var agent = Helper.Agent(receiver.Port);
        using var message = new RelayTestMessage(Body, "bob@" + RelayDnsFixture.DeadFirst);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal($"mx.live.relay.test[127.0.0.34]:{receiver.Port}", result.RemoteHost);
    }

    [Fact]
    public async Task RecipientsOfTwoDomainsGetTheirOwnServersInOneRequest()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(["127.0.0.31", "127.0.0.21"], new JsonObject
        {
            ["127.0.0.21"] = new JsonObject { ["rcpt"] = new JsonArray("550 5.1.1 unknown\r\n") },
        });
        await using var agent = Helper.Agent(receiver.Port);
        using var message = new RelayTestMessage(Body, "a@" + RelayDnsFixture.One, "b@" + Z.AddressOnly, "c@" + RelayDnsFixture.One, "d@" + Z.NullMx);

        IReadOnlyList<RecipientResult> results = await agent.DeliverAsync(message.Request, CancellationToken.None);

        Assert.Equal([DeliveryOutcome.Delivered, DeliveryOutcome.PermanentFailure, DeliveryOutcome.Delivered, DeliveryOutcome.PermanentFailure],
            results.Select(r => r.Outcome));
        Assert.Equal("550 5.1.1 unknown", results[1].ReplyText);
        Assert.Equal(2, receiver.Connections());
    }
}
