using System.Net;
using Postbote.Delivery.Smtp;
using Postbote.Queue;
using Postbote.Tests.Protocol.Client;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>The client session in LMTP mode (RFC 2033) and against aiosmtpd as a real SMTP server.</summary>
public sealed class LmtpSessionTests
{
    private static readonly SmtpClientTimeouts Timeouts = new() { Initial = TimeSpan.FromSeconds(10), DataTermination = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task LmtpGivesOneReplyPerAcceptedRecipientAfterTheData()
    {
        await using var peer = await AiosmtpdPeer.StartAsync("lmtp", 1_000_000);
        using var message = new RelayTestMessage("Subject: lmtp\r\n\r\nhello\r\n", "alice@peer.test", "nobody@peer.test", "bob@peer.test");
        await using var session = await SmtpClientSession.ConnectAsync("peer.test", new IPEndPoint(IPAddress.Loopback, peer.Port),
            SmtpClientProtocol.Lmtp, "relay.postbote.test", Timeouts, TimeSpan.FromSeconds(5), opportunisticTls: true, null, null, CancellationToken.None);

        IReadOnlyList<RecipientResult> results = await session.SendAsync(message.Request, CancellationToken.None);

        Assert.Equal(
            [
                "Delivered 250 2.1.5 <alice@peer.test> delivered",
                "PermanentFailure 550 5.1.1 <nobody@peer.test> no such user",
                "Delivered 250 2.1.5 <bob@peer.test> delivered",
            ],
            results.Select(r => r.Outcome + " " + r.ReplyText));
        Assert.All(results, r => Assert.Equal($"peer.test[127.0.0.1]:{peer.Port}", r.RemoteHost));
        Assert.Equal(DeliveryHandover.Final, results[0].Handover);
        var received = Assert.Single(await peer.ReceivedAsync(1));
        Assert.Equal("relay.postbote.test", received.GetProperty("helo").GetString());
        Assert.Equal(message.Body, Convert.FromBase64String(received.GetProperty("content").GetString()!));
        await session.QuitAsync();
    }
}
