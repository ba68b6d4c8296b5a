using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Delivery.Smtp;
using Postbote.Dns;
using Postbote.Queue;
using Postbote.Tests.Protocol.Client;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>Relaying to aiosmtpd, a real SMTP server that is not Postbote, found through MX on nsd.</summary>
[Collection(RelayDnsCollection.Name)]
public sealed class AiosmtpdRelayTests(RelayDnsFixture dns)
{
    [Fact]
    public async Task RelayedBytesAreTheSpoolBytes()
    {
        await using var peer = await AiosmtpdPeer.StartAsync("smtp", 1_000_000);
        var body = new StringBuilder("Received: from client.example (client.example [192.0.2.7])\r\n\tby relay.postbote.test; Mon, 1 Dec 2026 10:00:00 +0000\r\n"
            + "From: alice@example.com\r\nTo: bob@aio.relay.test\r\nSubject: bytes\r\n\r\n");
        for (int i = 0; i < 3000; i++) body.Append(i % 7 == 0 ? "." : "").Append("line ").Append(i).Append(" of a message longer than one 64 KiB write\r\n");
        body.Append(".\r\n..\r\nend\r\n");
        using var message = new RelayTestMessage(body.ToString(), "bob@" + RelayDnsFixture.Aio, "carol@" + RelayDnsFixture.Aio);
        Assert.True(message.Body.Length > 128 * 1024);
        await using var agent = new SmtpDeliveryAgent(
            new DnsResolver(new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) }),
            new SmtpRelayOptions { Port = peer.Port, HeloName = "relay.postbote.test", IdleTime = TimeSpan.Zero },
            NullLogger<SmtpDeliveryAgent>.Instance);

        IReadOnlyList<RecipientResult> results = await agent.DeliverAsync(message.Request, CancellationToken.None);

        Assert.All(results, r => Assert.Equal("Delivered 250 2.0.0 Message accepted", r.Outcome + " " + r.ReplyText));
        var received = Assert.Single(await peer.ReceivedAsync(1));
        Assert.Equal(message.Body, Convert.FromBase64String(received.GetProperty("content").GetString()!));
        Assert.Equal("<alice@example.com>".Trim('<', '>'), received.GetProperty("mail_from").GetString());
        Assert.Equal(["bob@aio.relay.test", "carol@aio.relay.test"], received.GetProperty("rcpt_tos").EnumerateArray().Select(e => e.GetString()));
    }
}
