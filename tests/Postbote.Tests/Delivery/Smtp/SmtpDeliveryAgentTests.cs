using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using Postbote.Core;
using Postbote.Delivery.Smtp;
using Postbote.Dns;
using Postbote.Queue;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>The remote agent against scripted receivers on loopback: per-recipient results, PIPELINING on and off,
/// SIZE, 8BITMIME, SMTPUTF8, DSN, CHUNKING and connection reuse, each asserted on the octets the receiver got.</summary>
[Collection(RelayDnsCollection.Name)]
public sealed class SmtpDeliveryAgentTests(RelayDnsFixture dns)
{
    private const string Mx = "mx.one.relay.test";
    private static readonly string[] OneAddress = ["127.0.0.31"];
    private const string Body = "From: alice@example.com\r\nTo: bob@one.relay.test\r\nSubject: hi\r\n\r\nline one\r\n.leading dot\r\nlast\r\n";

    internal SmtpDeliveryAgent Agent(int port, TimeSpan? idle = null, SmtpClientTimeouts? timeouts = null) =>
        new(new DnsResolver(new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) }),
            new SmtpRelayOptions
            {
                Port = port,
                HeloName = "relay.postbote.test",
                ConnectTimeout = TimeSpan.FromSeconds(5),
                IdleTime = idle ?? TimeSpan.Zero,
                Timeouts = timeouts ?? new SmtpClientTimeouts(),
            },
            NullLogger<SmtpDeliveryAgent>.Instance);

    private static JsonObject Host(JsonObject behaviour) => new() { ["default"] = behaviour };

    [Fact]
    public async Task MixedRepliesInOneTransactionGiveOneResultEachAndCommandsGoOneAtATimeWithoutPipelining()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject
        {
            ["ehlo"] = "250-mx.one.relay.test\r\n250 8BITMIME\r\n",
            ["rcpt"] = new JsonArray("250 2.1.5 ok\r\n", "451 4.2.0 mailbox busy, try later\r\n", "550 5.1.1 no such user\r\n"),
            ["delay_ms"] = 100,
        }));
        using var message = new RelayTestMessage(Body, "carol1@one.relay.test", "carol2@one.relay.test", "carol3@one.relay.test");
        await using var agent = Agent(receiver.Port);

        IReadOnlyList<RecipientResult> results = await agent.DeliverAsync(message.Request, CancellationToken.None);

        string host = $"{Mx}[127.0.0.31]:{receiver.Port}";
        Assert.Equal(
            [
                "Delivered 250 2.0.0 queued",
                "TemporaryFailure 451 4.2.0 mailbox busy, try later",
                "PermanentFailure 550 5.1.1 no such user",
            ],
            results.Select(r => r.Outcome + " " + r.ReplyText));
        Assert.All(results, r => Assert.Equal(host, r.RemoteHost));
        Assert.Equal(DeliveryHandover.Relayed, results[0].Handover);
        await receiver.WaitForAsync(e => e.Any(x => x.TryGetProperty("cmd", out var c) && c.GetString() == "QUIT"));
        Assert.Equal(
            [
                "EHLO relay.postbote.test",
                "MAIL FROM:<alice@example.com> BODY=7BIT".Replace(" BODY=7BIT", ""),
                "RCPT TO:<carol1@one.relay.test>",
                "RCPT TO:<carol2@one.relay.test>",
                "RCPT TO:<carol3@one.relay.test>",
                "DATA",
                "QUIT",
            ],
            receiver.Commands());
        // Without PIPELINING nothing follows a command before its reply (RFC 2920 §3.1 makes batching conditional).
        Assert.All(receiver.Events().Where(e => e.TryGetProperty("cmd", out _)), e => Assert.Equal("", e.GetProperty("ahead").GetString()));
        Assert.Equal(message.DotStuffed(), Assert.Single(receiver.Messages()));
    }

    /// <summary>A 421 to a RCPT used to leave the recipient accepted before it with "no reply to DATA" and the ones
    /// after it with "gave no answer"; the server's own 421 is what all of them were told.</summary>
    [Fact]
    public async Task ServiceClosingAtRcptIsTheReplyForEveryRecipientNotYetDecided()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject
        {
            ["rcpt"] = new JsonArray("250 2.1.5 ok\r\n", "421 4.7.0 too busy, closing\r\n"),
        }));
        using var message = new RelayTestMessage(Body, "a@one.relay.test", "b@one.relay.test", "c@one.relay.test");
        await using var agent = Agent(receiver.Port, idle: TimeSpan.FromSeconds(30));

        IReadOnlyList<RecipientResult> results = await agent.DeliverAsync(message.Request, CancellationToken.None);

        Assert.All(results, r => Assert.Equal("TemporaryFailure 421 4.7.0 too busy, closing", r.Outcome + " " + r.ReplyText));
        Assert.Equal(["EHLO", "MAIL", "RCPT", "RCPT"], receiver.Commands().Select(c => c[..4]));
        Assert.Equal(0, agent.IdleConnections);
    }

    [Fact]
    public async Task WithPipeliningMailRcptsAndDataGoInOneWrite()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject
        {
            ["ehlo"] = "250-mx.one.relay.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250 8BITMIME\r\n",
            ["delay_ms"] = 200,
        }));
        using var message = new RelayTestMessage(Body, "a@one.relay.test", "b@one.relay.test");
        await using var agent = Agent(receiver.Port);

        IReadOnlyList<RecipientResult> results = await agent.DeliverAsync(message.Request, CancellationToken.None);

        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        var mail = receiver.Events().First(e => e.TryGetProperty("cmd", out var c) && c.GetString()!.StartsWith("MAIL", StringComparison.Ordinal));
        Assert.Equal($"MAIL FROM:<alice@example.com> SIZE={message.Body.Length}", mail.GetProperty("cmd").GetString());
        Assert.Equal("RCPT TO:<a@one.relay.test>\r\nRCPT TO:<b@one.relay.test>\r\nDATA\r\n", mail.GetProperty("ahead").GetString());
        Assert.Equal(message.DotStuffed(), Assert.Single(receiver.Messages()));
    }

    [Fact]
    public async Task TemporaryFailureAtEndOfDataThenSuccessOnTheNextAttempt()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject
        {
            ["end"] = new JsonArray("451 4.3.0 try again later\r\n", "250 2.0.0 queued as X\r\n"),
        }));
        using var message = new RelayTestMessage(Body, "bob@one.relay.test");
        await using var agent = Agent(receiver.Port);

        RecipientResult first = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));
        RecipientResult second = Assert.Single(await agent.DeliverAsync(message.Request with { IsRecovered = true }, CancellationToken.None));

        Assert.Equal("TemporaryFailure 451 4.3.0 try again later", first.Outcome + " " + first.ReplyText);
        Assert.Equal("Delivered 250 2.0.0 queued as X", second.Outcome + " " + second.ReplyText);
        Assert.Equal(2, receiver.Messages().Count);
    }

    [Fact]
    public async Task GreetingWith421TriesTheNextMx()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(["127.0.0.32", "127.0.0.33"], new JsonObject
        {
            ["127.0.0.32"] = new JsonObject { ["greeting"] = "421-4.3.2 mx1 is\r\n421 4.3.2 shutting down\r\n" },
        });
        using var message = new RelayTestMessage(Body, "bob@greet.relay.test");
        await using var agent = Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal($"mx2.greet.relay.test[127.0.0.33]:{receiver.Port}", result.RemoteHost);
        Assert.Equal(["127.0.0.32", "127.0.0.33"], receiver.Events().Where(e => e.TryGetProperty("event", out var v) && v.GetString() == "connect")
            .Select(e => e.GetProperty("host").GetString()));
    }

    [Fact]
    public async Task EightBitBodyIsConvertedToSevenBitMimeForAServerWithout8BitMime()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject { ["ehlo"] = "250 mx.one.relay.test\r\n" }));
        const string text = "Grüße aus Köln – größer als 7 Bit.\r\n.und ein Punkt\r\n";
        byte[] body = Encoding.UTF8.GetBytes("From: alice@example.com\r\nTo: bob@one.relay.test\r\nSubject: umlauts\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text);
        using var message = new RelayTestMessage(body, ["bob@one.relay.test"], BodyType.EightBitMime);
        await using var agent = Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Contains(receiver.Commands(), c => c == "MAIL FROM:<alice@example.com>");
        byte[] wire = Assert.Single(receiver.Messages());
        Assert.All(wire, b => Assert.True(b < 0x80, $"octet {b} on the wire"));
        string stuffed = Encoding.ASCII.GetString(wire);
        Assert.EndsWith("\r\n.\r\n", stuffed, StringComparison.Ordinal);
        string unstuffed = string.Join("\r\n", stuffed[..^3].Split("\r\n").Select(l => l.StartsWith("..", StringComparison.Ordinal) ? l[1..] : l));
        MimeMessage parsed = MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(unstuffed)));
        var part = Assert.IsType<TextPart>(parsed.Body);
        Assert.Equal(ContentEncoding.QuotedPrintable, part.ContentTransferEncoding);
        // Quoted-printable carries line breaks as the wire's own CRLFs (RFC 2045 §6.7 rule 4): the same lines.
        Assert.Equal(text.Split("\r\n"), part.Text.Split('\n'));
        Assert.DoesNotContain("=0D", stuffed, StringComparison.Ordinal);
        Assert.Contains("Content-Transfer-Encoding: quoted-printable\r\n", stuffed, StringComparison.Ordinal);
        Assert.Equal("umlauts", parsed.Subject);
    }

    [Fact]
    public async Task EightBitHeaderCannotBeConvertedAndFailsWith563()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject { ["ehlo"] = "250 mx.one.relay.test\r\n" }));
        byte[] body = Encoding.UTF8.GetBytes("From: alice@example.com\r\nSubject: Grüße\r\n\r\nbody\r\n");
        using var message = new RelayTestMessage(body, ["bob@one.relay.test"], BodyType.EightBitMime);
        await using var agent = Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Equal(new EnhancedStatusCode(5, 6, 3), result.Reply.Status);
        Assert.DoesNotContain(receiver.Commands(), c => c.StartsWith("MAIL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SmtpUtf8NeededButNotOfferedFailsWith567WithoutMail()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject { ["ehlo"] = "250-mx.one.relay.test\r\n250 8BITMIME\r\n" }));
        using var message = new RelayTestMessage(Encoding.UTF8.GetBytes("Subject: x\r\n\r\nx\r\n"), ["jürgen@one.relay.test"], BodyType.EightBitMime, smtpUtf8: true);
        await using var agent = Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal("PermanentFailure 553 5.6.7", result.Outcome + " " + result.ReplyText[..9]);
        Assert.DoesNotContain(receiver.Commands(), c => c.StartsWith("MAIL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MessageLargerThanTheServersSizeFailsWith534WithoutSending()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject { ["ehlo"] = "250-mx.one.relay.test\r\n250 SIZE 20\r\n" }));
        using var message = new RelayTestMessage(Body, "bob@one.relay.test");
        await using var agent = Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Equal($"552 5.3.4 message size {message.Body.Length} bytes exceeds the limit of 20 bytes of {Mx}[127.0.0.31]:{receiver.Port}", result.ReplyText);
        Assert.DoesNotContain(receiver.Commands(), c => c.StartsWith("MAIL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DsnParametersArePassedOnWhenTheServerOffersDsn()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject { ["ehlo"] = "250-mx.one.relay.test\r\n250 DSN\r\n" }));
        using var message = new RelayTestMessage(Encoding.ASCII.GetBytes(Body), ["bob@one.relay.test"],
            recipient: r => r with { Notify = DsnNotify.Success | DsnNotify.Failure, OriginalRecipient = "rfc822;Bob+2B@one.relay.test" },
            ret: DsnReturn.Headers, envelopeId: "QQ+2B1");
        await using var agent = Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryHandover.RelayedWithDsn, result.Handover);
        List<string> commands = receiver.Commands();
        Assert.Contains("MAIL FROM:<alice@example.com> RET=HDRS ENVID=QQ+2B1", commands);
        Assert.Contains("RCPT TO:<bob@one.relay.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2B@one.relay.test", commands);
    }

    [Fact]
    public async Task ChunkingSendsTheSpoolBytesUnchangedWithBdat()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject { ["ehlo"] = "250-mx.one.relay.test\r\n250 CHUNKING\r\n" }));
        using var message = new RelayTestMessage(Body, "bob@one.relay.test");
        await using var agent = Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Contains($"BDAT {message.Body.Length} LAST", receiver.Commands());
        Assert.Equal(message.Body, Assert.Single(receiver.Messages()));
    }

    [Fact]
    public async Task AddedHeaderFieldsGoFirstAndCountInSizeWithDataAndWithBdat()
    {
        const string added = "Authentication-Results: relay.postbote.test; spf=pass smtp.mailfrom=example.com\r\n";
        byte[] expected = Encoding.ASCII.GetBytes(added + Body);
        foreach (string ehlo in new[] { "250-mx.one.relay.test\r\n250-SIZE 100000\r\n250 PIPELINING\r\n", "250-mx.one.relay.test\r\n250-SIZE 100000\r\n250 CHUNKING\r\n" })
        {
            await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject { ["ehlo"] = ehlo }));
            using var message = new RelayTestMessage(Encoding.ASCII.GetBytes(Body), ["bob@one.relay.test"], addedHeaders: added);
            await using var agent = Agent(receiver.Port);

            RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

            Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
            Assert.Contains($"MAIL FROM:<alice@example.com> SIZE={expected.Length}", receiver.Commands());
            if (ehlo.Contains("CHUNKING", StringComparison.Ordinal))
            {
                Assert.Contains($"BDAT {expected.Length} LAST", receiver.Commands());
                Assert.Equal(expected, Assert.Single(receiver.Messages()));
            }
            else
            {
                Assert.Equal(Encoding.ASCII.GetBytes(added + Body.Replace("\r\n.leading", "\r\n..leading", StringComparison.Ordinal) + ".\r\n"),
                    Assert.Single(receiver.Messages()));
            }
        }
    }

    [Fact]
    public async Task TwoMessagesToOneServerShareOneConnectionWithRsetBetween()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress);
        using var first = new RelayTestMessage(Body, "bob@one.relay.test");
        using var second = new RelayTestMessage(Body, "carol@one.relay.test");
        await using var agent = Agent(receiver.Port, idle: TimeSpan.FromSeconds(30));

        Assert.Equal(DeliveryOutcome.Delivered, Assert.Single(await agent.DeliverAsync(first.Request, CancellationToken.None)).Outcome);
        Assert.Equal(1, agent.IdleConnections);
        Assert.Equal(DeliveryOutcome.Delivered, Assert.Single(await agent.DeliverAsync(second.Request, CancellationToken.None)).Outcome);

        Assert.Equal(1, receiver.Connections());
        Assert.Equal(2, receiver.Messages().Count);
        Assert.Equal(["EHLO", "MAIL", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA"], receiver.Commands().Select(c => c[..4]));
        await agent.DisposeAsync();
        await receiver.WaitForAsync(e => e.Any(x => x.TryGetProperty("cmd", out var c) && c.GetString() == "QUIT"));
        Assert.Equal("QUIT", receiver.Commands()[^1]);
    }

    [Fact]
    public async Task NoReplyToTheEndOfDataIsATimeoutAndATemporaryFailure()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(OneAddress, Host(new JsonObject { ["end"] = new JsonArray("") }));
        using var message = new RelayTestMessage(Body, "bob@one.relay.test");
        await using var agent = Agent(receiver.Port, timeouts: new SmtpClientTimeouts { DataTermination = TimeSpan.FromSeconds(1) });

        var started = DateTime.UtcNow;
        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.TemporaryFailure, result.Outcome);
        Assert.Equal($"451 4.4.2 timeout after 1 s with {Mx}[127.0.0.31]:{receiver.Port} during end of data", result.ReplyText);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
    }
}
