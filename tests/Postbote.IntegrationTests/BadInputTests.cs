using System.Diagnostics;
using System.Text;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>Malformed and hostile input over real TCP: each is refused with the right reply and the session goes on.</summary>
public sealed class BadInputTests(BadInputServerFixture fixture) : IClassFixture<BadInputServerFixture>
{
    private static readonly Dictionary<string, (bool InTransaction, string Command, string Expected)> SingleCommands = new()
    {
        ["unknown command"] = (false, "FOOBAR", @"^500 5\.5\.2[ \r]"),
        ["RCPT before MAIL"] = (false, "RCPT TO:<rcpt@example.com>", @"^503 5\.5\.1[ \r]"),
        ["MAIL FROM:<>>>>>"] = (false, "MAIL FROM:<>>>>>", @"^501[ -]"),
        ["NUL in EHLO"] = (false, "EHLO cli\0ent.test", "^50[01][ -]"),
        ["NUL in MAIL FROM"] = (false, "MAIL FROM:<a\0b@example.org>", "^50[01][ -]"),
        ["600-octet command line"] = (false, "NOOP " + new string('A', 593), @"^500 5\.5\.2[ \r]"),
        ["unknown local user"] = (true, "RCPT TO:<nosuchuser@example.com>", @"^550 5\.1\.1[ \r]"),
        ["foreign domain from untrusted client"] = (true, "RCPT TO:<bob@example.net>", @"^554 5\.7\.1[ \r]"),
        ["VRFY answers 252 by default"] = (false, "VRFY rcpt", @"^252[ -]"),
        ["EXPN refused by default"] = (false, "EXPN staff", @"^502[ -]"),
    };

    private PostboteServer Server => fixture.Server;

    public static TheoryData<string> SingleCommandCases => new(SingleCommands.Keys);

    [Theory]
    [MemberData(nameof(SingleCommandCases))]
    public async Task CommandIsRefusedAndSessionContinues(string name)
    {
        var (inTransaction, command, expected) = SingleCommands[name];
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        if (inTransaction)
        {
            await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<a@example.org>", "^250");
        }

        await SmtpDialog.ExpectAsync(smtp, command, expected, Server.Diagnostics(40));
        await SmtpDialog.ExpectAsync(smtp, "NOOP", @"^250[ \r]");
        await SmtpDialog.ExpectAsync(smtp, "RSET", @"^250[ \r]");
        var marker = SmtpDialog.NewMarker("after-" + name.Replace(' ', '-'));
        var reply = await SmtpDialog.SendMailAsync(smtp, "a@example.org", ["user30@example.com"], SmtpDialog.SampleMessage(marker), ehlo: false);
        Assert.True(reply.Code == 250, $"the transaction after the refused command failed: {reply}\n{smtp.Transcript}");
        await SmtpDialog.ExpectAsync(smtp, "QUIT", "^221");
    }

    [Fact]
    public async Task MegabyteLineWithoutCrlfIsRefusedAndNextCommandWorks()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        await smtp.SendAsync(Encoding.ASCII.GetBytes("NOOP " + new string('A', 1 << 20)));
        await smtp.SendAsync("\r\n");
        var reply = await smtp.ReadReplyAsync(TimeSpan.FromSeconds(30));
        Assert.True(reply.Text.StartsWith("500", StringComparison.Ordinal), $"expected 500, got {reply}\n{smtp.Transcript}{Server.Diagnostics(40)}");
        await SmtpDialog.ExpectAsync(smtp, "NOOP", @"^250[ \r]");
        await SmtpDialog.ExpectAsync(smtp, "QUIT", "^221");
    }

    [Fact]
    public async Task BareLfInDataIsRefusedAndNothingIsDelivered()
    {
        var bad = SmtpDialog.NewMarker("bare-lf");
        var good = SmtpDialog.NewMarker("after-bare-lf");
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await SmtpDialog.BeginDataAsync(smtp, "a@example.org", ["user31@example.com"]);
        await smtp.SendAsync($"Subject: {bad}\r\n\r\nline one\nline two\r\n.\r\n");
        var reply = await smtp.ReadReplyAsync(TimeSpan.FromSeconds(30));
        Assert.True(reply.Text.StartsWith('5'), $"a bare LF in DATA was not refused with 5xx: {reply}\n{smtp.Transcript}");

        // A good message after it, so that "nothing delivered" is checked once the queue has moved on.
        var content = SmtpDialog.SampleMessage(good, to: "user31@example.com");
        var second = await SmtpDialog.SendMailAsync(smtp, "a@example.org", ["user31@example.com"], content, ehlo: false);
        Assert.True(second.Code == 250, $"the transaction after the refused one failed: {second}\n{smtp.Transcript}");
        await DeliveryAssert.DeliveredOnceAsync(Server, "user31@example.com", good, content, "a@example.org", SmtpDialog.QueueId(second.Text));
        await Task.Delay(1000);
        Assert.DoesNotContain(Server.Mailbox("user31@example.com").Messages(), m => m.Contains(bad));
    }

    [Fact]
    public async Task OversizedMessageGets552AndNextTransactionWorks()
    {
        var big = SmtpDialog.NewMarker("oversized");
        var small = SmtpDialog.NewMarker("after-oversized");
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await SmtpDialog.BeginDataAsync(smtp, "a@example.org", ["user32@example.com"]);
        var body = new StringBuilder($"Subject: {big}\r\n\r\n");
        while (body.Length < 200000)
        {
            body.Append("0123456789012345678901234567890123456789012345678901234567890123456789012345678\r\n");
        }

        var reply = await smtp.SendDataAsync(Encoding.ASCII.GetBytes(body.ToString()));
        Assert.True(
            reply.Text.StartsWith("552 5.3.4", StringComparison.Ordinal),
            $"expected 552 5.3.4 for a 200,000-byte message over a 100,000-byte limit, got {reply}\n{smtp.Transcript}{Server.Diagnostics(40)}");

        var content = SmtpDialog.SampleMessage(small, to: "user32@example.com");
        var second = await SmtpDialog.SendMailAsync(smtp, "a@example.org", ["user32@example.com"], content, ehlo: false);
        Assert.True(second.Code == 250, $"the transaction after the oversized one failed: {second}\n{smtp.Transcript}");
        await DeliveryAssert.DeliveredOnceAsync(Server, "user32@example.com", small, content, "a@example.org", SmtpDialog.QueueId(second.Text));
        await Task.Delay(1000);
        Assert.DoesNotContain(Server.Mailbox("user32@example.com").Messages(), m => m.Contains(big));
    }

    [Fact]
    public async Task TooManyErrorsGive421AndClose()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        var codes = new List<int>();
        for (var i = 0; i < 10; i++)
        {
            SmtpResponse reply;
            try
            {
                reply = await smtp.CommandAsync("FOOBAR");
            }
            catch (IOException)
            {
                break;
            }

            codes.Add(reply.Code);
            if (reply.Code is 421 or 0)
            {
                break;
            }
        }

        // max_errors = 5: five error replies, then 421 and the connection closed.
        Assert.True(codes.SequenceEqual([500, 500, 500, 500, 500, 421]), $"replies {string.Join(',', codes)}\n{smtp.Transcript}");
        Assert.True(await smtp.WaitForCloseAsync(TimeSpan.FromSeconds(5)), $"the server kept the connection open after 421\n{smtp.Transcript}");
    }

    [Fact]
    public async Task SlowDripClientDoesNotBlockOtherSessions()
    {
        using var drip = await SmtpConnection.ConnectAsync(Server.Port);
        var dripTask = drip.SendSlowlyAsync(Encoding.ASCII.GetBytes("EHLO slow-drip.client.example.test\r\n"), TimeSpan.FromMilliseconds(250));
        await Task.Delay(500);

        var clock = Stopwatch.StartNew();
        var sessions = Enumerable.Range(0, 10).Select(async i =>
        {
            var marker = SmtpDialog.NewMarker($"parallel{i}");
            using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
            var reply = await SmtpDialog.SendMailAsync(smtp, "a@example.org", ["user33@example.com"], SmtpDialog.SampleMessage(marker));
            await smtp.CommandAsync("QUIT");
            return (reply, smtp.Transcript.ToString(), clock.Elapsed);
        }).ToList();
        var results = await Task.WhenAll(sessions);
        var allDone = clock.Elapsed;

        foreach (var (reply, transcript, _) in results)
        {
            Assert.True(reply.Code == 250, $"a parallel session failed while a client dripped bytes: {reply}\n{transcript}");
        }

        Assert.False(dripTask.IsCompleted, $"the drip finished before the 10 sessions ({allDone.TotalSeconds:F1} s): the test proved nothing");
        await dripTask;
        var ehlo = await drip.ReadReplyAsync();
        Assert.True(ehlo.Code == 250, $"the slow client's EHLO: {ehlo}\n{drip.Transcript}");
        await SmtpDialog.ExpectAsync(drip, "QUIT", "^221");
    }
}
