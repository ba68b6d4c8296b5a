using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Delivery.Smtp;
using Postbote.Dns;
using Postbote.Queue;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>The agent's loop checks (RFC 5321 §6.3) and throttle marking against scripted receivers: greet.relay.test has
/// MX 10 mx1.greet (127.0.0.32) and MX 20 mx2.greet (127.0.0.33).</summary>
[Collection(RelayDnsCollection.Name)]
public sealed class LoopDetectionTests(RelayDnsFixture dns)
{
    private const string Body = "Subject: loop\r\n\r\nx\r\n";
    private static readonly string[] Both = ["127.0.0.32", "127.0.0.33"];

    private SmtpDeliveryAgent Agent(int port, params string[] own)
    {
        var options = new SmtpRelayOptions
        {
            Port = port,
            HeloName = "relay.postbote.test",
            OwnHostName = "mx.postbote.test",
            ConnectTimeout = TimeSpan.FromSeconds(5),
            IdleTime = TimeSpan.Zero,
        };
        options.OwnEndpoints.Set(own.Select(a => new IPEndPoint(IPAddress.Parse(a), port)));
        return new SmtpDeliveryAgent(new DnsResolver(new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) }),
            options, NullLogger<SmtpDeliveryAgent>.Instance);
    }

    [Fact]
    public async Task TheBestMxBeingOurOwnListenerFailsAtOnceWith546()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(Both);
        using var message = new RelayTestMessage(Body, "bob@" + RelayDnsFixture.Greet);
        await using var agent = Agent(receiver.Port, "127.0.0.32");

        RecipientResult r = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.PermanentFailure, r.Outcome);
        Assert.Equal($"554 5.4.6 mail for greet.relay.test loops back to myself (mail exchanger mx1.greet.relay.test[127.0.0.32]:{receiver.Port} is this server)",
            r.ReplyText);
        Assert.Equal(0, receiver.Connections());
    }

    [Fact]
    public async Task AsBackupMxOnlyTheMorePreferredExchangersAreTried()
    {
        // mx1 refuses the greeting; mx2 is us, so the mail waits for mx1 instead of coming back.
        await using var receiver = await ScriptedReceiver.StartAsync(Both, new JsonObject
        {
            ["127.0.0.32"] = new JsonObject { ["greeting"] = "554 5.3.2 not now\r\n" },
        });
        using var message = new RelayTestMessage(Body, "bob@" + RelayDnsFixture.Greet);
        await using var agent = Agent(receiver.Port, "127.0.0.33");

        RecipientResult r = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.TemporaryFailure, r.Outcome);
        Assert.StartsWith("451 4.4.1 no mail exchanger of greet.relay.test took the message; last error: 554 5.3.2", r.ReplyText, StringComparison.Ordinal);
        Assert.False(r.Throttled);
        Assert.Equal(1, receiver.Connections());
    }

    [Theory]
    [InlineData("220 mx.postbote.test ESMTP\r\n", "250-peer.test\r\n250 8BITMIME\r\n", "greeting", "mx.postbote.test")]
    [InlineData("220 peer.test ESMTP\r\n", "250-MX.Postbote.Test\r\n250 8BITMIME\r\n", "EHLO", "MX.Postbote.Test")]
    public async Task AServerNamingItselfWithOurHostNameIsALoopAndTheNextMxIsNotTried(string greeting, string ehlo, string where, string name)
    {
        await using var receiver = await ScriptedReceiver.StartAsync(Both, new JsonObject
        {
            ["default"] = new JsonObject { ["greeting"] = greeting, ["ehlo"] = ehlo },
        });
        using var message = new RelayTestMessage(Body, "bob@" + RelayDnsFixture.Greet);
        await using var agent = Agent(receiver.Port);

        RecipientResult r = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.PermanentFailure, r.Outcome);
        Assert.Equal($"554 5.4.6 mail for greet.relay.test loops back to myself (mx1.greet.relay.test[127.0.0.32]:{receiver.Port} names itself {name} in its {where} reply, my own host name)",
            r.ReplyText);
        Assert.Equal(1, receiver.Connections());
        Assert.DoesNotContain(receiver.Commands(), c => c.StartsWith("MAIL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A421GreetingAtEveryExchangerMarksTheResultThrottled()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(Both, new JsonObject
        {
            ["default"] = new JsonObject { ["greeting"] = "421 4.7.0 too many connections from your address\r\n" },
        });
        using var message = new RelayTestMessage(Body, "bob@" + RelayDnsFixture.Greet);
        await using var agent = Agent(receiver.Port);

        RecipientResult r = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.TemporaryFailure, r.Outcome);
        Assert.True(r.Throttled, r.ReplyText);
        Assert.Equal(2, receiver.Connections());
    }

    [Fact]
    public async Task ARateLimitReplyToMailMarksTheResultThrottled()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(Both, new JsonObject
        {
            ["default"] = new JsonObject { ["mail"] = "451 4.7.0 rate limited, try again later\r\n" },
        });
        using var message = new RelayTestMessage(Body, "bob@" + RelayDnsFixture.Greet);
        await using var agent = Agent(receiver.Port);

        RecipientResult r = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal("451 4.7.0 rate limited, try again later", r.ReplyText);
        Assert.True(r.Throttled);
    }

    [Theory]
    [InlineData(100, DeliveryOutcome.Delivered)]
    [InlineData(101, DeliveryOutcome.PermanentFailure)]
    public async Task AMessageWithMoreReceivedFieldsThanTheHopCountLimitIsNotRelayed(int received, DeliveryOutcome outcome)
    {
        await using var receiver = await ScriptedReceiver.StartAsync(Both);
        var text = new StringBuilder();
        for (int i = 0; i < received; i++) text.Append(CultureInfo.InvariantCulture, $"Received: from h{i}.example by h{i + 1}.example; Fri, 31 Jan 2025 12:00:00 +0000\r\n");
        text.Append(Body);
        using var message = new RelayTestMessage(text.ToString(), "bob@" + RelayDnsFixture.Greet);
        await using var agent = Agent(receiver.Port);

        RecipientResult r = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(outcome, r.Outcome);
        if (outcome == DeliveryOutcome.PermanentFailure)
        {
            Assert.Equal("554 5.4.6 too many hops: more than 100 Received: header fields (limits.hop_count_limit), mail loops", r.ReplyText);
            Assert.Equal(0, receiver.Connections());
        }
    }
}
