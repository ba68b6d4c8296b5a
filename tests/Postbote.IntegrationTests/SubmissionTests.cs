using System.Text;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// Message submission (RFC 6409): AUTH before MAIL (530 5.7.0), and sender binding (§8.1): an authenticated user may use
/// as reverse-path and in From: only their own name, their listed addresses and local aliases that deliver to them
/// (else 553 5.7.1), unless the user may send as anyone.
/// </summary>
public sealed class SubmissionTests(TlsAuthServerFixture fixture) : IClassFixture<TlsAuthServerFixture>
{
    private PostboteServer Server => fixture.Server;

    [Fact]
    public async Task MailWithoutAuthIsRefusedWith530OnBothSubmissionPorts()
    {
        using var starttls = await SmtpConnection.ConnectAsync(Server.SubmissionPort);
        await SmtpDialog.ExpectAsync(starttls, "EHLO client.test", "^250");
        await SmtpDialog.ExpectAsync(starttls, "MAIL FROM:<alice@example.com>", "^530 5\\.7\\.0 ");
        await AuthDialog.StartTlsAsync(starttls);
        await SmtpDialog.ExpectAsync(starttls, "MAIL FROM:<alice@example.com>", "^530 5\\.7\\.0 Authentication required\r\n$");
        await SmtpDialog.ExpectAsync(starttls, "RCPT TO:<rcpt@example.com>", "^503 5\\.5\\.1 ");

        using var implicitTls = await SmtpConnection.ConnectTlsAsync(Server.SubmissionsPort);
        await AuthDialog.EhloInTlsAsync(implicitTls);
        await SmtpDialog.ExpectAsync(implicitTls, "MAIL FROM:<alice@example.com>", "^530 5\\.7\\.0 Authentication required\r\n$");
        await SmtpDialog.ExpectAsync(implicitTls, "MAIL FROM:<>", "^530 5\\.7\\.0 ");
    }

    [Theory]
    [InlineData("rcpt@example.com")]
    [InlineData("alice@example.org")]
    [InlineData("alice+tag@example.com")]
    [InlineData("team@example.org")]
    [InlineData("postmaster@example.com")]
    public async Task MailFromAnAddressTheUserDoesNotOwnGets553(string address)
    {
        using var smtp = await OpenAuthenticatedAsync(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        await SmtpDialog.ExpectAsync(smtp, $"MAIL FROM:<{address}>", "^553 5\\.7\\.1 ");
        await SmtpDialog.ExpectAsync(smtp, "RCPT TO:<rcpt@example.com>", "^503 5\\.5\\.1 ");
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<alice@example.com>", "^250 2\\.1\\.0 ");
    }

    /// <summary>The null reverse-path is for mail system notifications (RFC 5321 §4.5.5): a user bound to addresses may
    /// not use it (the From: of a bounce, MAILER-DAEMON, could not be checked either); a user allowed any sender may.</summary>
    [Fact]
    public async Task TheNullReversePathIsRefusedToABoundUserAndAllowedToAnAnySenderUser()
    {
        using (var smtp = await OpenAuthenticatedAsync(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword))
        {
            await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<>",
                "^553 5\\.7\\.1 <>: Sender address rejected: the null reverse-path is for mail system notifications, not for user alice@example\\.com\r\n$");
            await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<alice@example.com>", "^250 2\\.1\\.0 ");
        }
        using (var smtp = await OpenAuthenticatedAsync(TlsAuthServerFixture.AnySender, TlsAuthServerFixture.AnySenderPassword))
        {
            await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<>", "^250 2\\.1\\.0 ");
        }
    }

    [Theory]
    [InlineData("From: <rcpt@example.com>")]
    [InlineData("From: Alice <alice@example.com>, Mallory <mallory@example.net>")]
    [InlineData("From: \"alice@example.com\" <ceo@example.com>")]
    public async Task FromHeaderNotOwnedGets553AtEndOfData(string fromHeader)
    {
        using var smtp = await OpenAuthenticatedAsync(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        var marker = SmtpDialog.NewMarker("from-not-owned");
        var content = Message(marker, fromHeader);
        var reply = await SmtpDialog.SendMailAsync(smtp, TlsAuthServerFixture.Alice, ["rcpt@example.com"], content, ehlo: false);
        Assert.True(reply.Text.StartsWith("553 5.7.1 ", StringComparison.Ordinal), $"end of data: {reply}\n{smtp.Transcript}");
        await SmtpDialog.ExpectAsync(smtp, "NOOP", "^250");
        await Task.Delay(500);
        Assert.Null(Server.Mailbox("rcpt@example.com").Messages().FirstOrDefault(m => m.Contains(marker)));
    }

    [Theory]
    [InlineData(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword, "alice@example.com", "From: Alice <alice@example.com>")]
    [InlineData(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword, "ALICE@Example.COM", "From: alice@EXAMPLE.com")]
    [InlineData(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword, TlsAuthServerFixture.AliceAlias, "From: Info <info@example.com>")]
    [InlineData(TlsAuthServerFixture.User2, TlsAuthServerFixture.User2Password, TlsAuthServerFixture.User2Address, "From: Team <team@example.org>")]
    [InlineData(TlsAuthServerFixture.User2, TlsAuthServerFixture.User2Password, TlsAuthServerFixture.User2, "From: user2@example.com, team@example.org")]
    [InlineData(TlsAuthServerFixture.AnySender, TlsAuthServerFixture.AnySenderPassword, "ceo@example.net", "From: CEO <ceo@example.net>")]
    [InlineData(TlsAuthServerFixture.AnySender, TlsAuthServerFixture.AnySenderPassword, "rcpt@example.com", "From: rcpt@example.com")]
    public async Task OwnedSenderIsAcceptedAndDelivered(string user, string password, string reversePath, string fromHeader)
    {
        using var smtp = await OpenAuthenticatedAsync(user, password);
        var marker = SmtpDialog.NewMarker("owned-sender");
        var content = Message(marker, fromHeader);
        var reply = await SmtpDialog.SendMailAsync(smtp, reversePath, ["rcpt@example.com"], content, ehlo: false);
        Assert.True(reply.Text.StartsWith("250 2.0.0 Ok: queued as ", StringComparison.Ordinal), $"end of data: {reply}\n{smtp.Transcript}");
        var traced = await DeliveryAssert.DeliveredOnceAsync(
            Server, "rcpt@example.com", marker, content, reversePath, SmtpDialog.QueueId(reply.Text), smtp.Transcript.ToString());
        Assert.Contains(" with ESMTPSA id ", traced.Received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnySenderUserMayRelayWithAForeignSender()
    {
        using var smtp = await OpenAuthenticatedAsync(TlsAuthServerFixture.AnySender, TlsAuthServerFixture.AnySenderPassword);
        var marker = SmtpDialog.NewMarker("any-sender-relay");
        var recipient = $"{marker}@example.net";
        var reply = await SmtpDialog.SendMailAsync(
            smtp, "newsletter@example.org", [recipient], Message(marker, "From: News <newsletter@example.org>"), ehlo: false);
        Assert.True(reply.Text.StartsWith("250 2.0.0 Ok: queued as ", StringComparison.Ordinal), $"end of data: {reply}\n{smtp.Transcript}");
        var list = await Server.QueueListAsync();
        Assert.Contains($"<{recipient}>", list.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>Sender binding holds wherever the user authenticated, the MX port included.</summary>
    [Fact]
    public async Task SenderBindingAppliesAfterAuthOnTheMxPort()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await AuthDialog.StartTlsAsync(smtp);
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<rcpt@example.com>", "^250 2\\.1\\.0 ");
        await SmtpDialog.ExpectAsync(smtp, "RSET", "^250");
        await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<rcpt@example.com>", "^553 5\\.7\\.1 ");
    }

    private static byte[] Message(string marker, string fromHeader) => Encoding.ASCII.GetBytes(
        $"{fromHeader}\r\nTo: <rcpt@example.com>\r\nSubject: {marker}\r\nMessage-Id: <{marker}@client.test>\r\n\r\nbody of {marker}\r\n");

    private async Task<SmtpConnection> OpenAuthenticatedAsync(string user, string password)
    {
        var smtp = await SmtpConnection.ConnectAsync(Server.SubmissionPort);
        try
        {
            await AuthDialog.StartTlsAsync(smtp);
            await AuthDialog.PlainAsync(smtp, user, password);
            return smtp;
        }
        catch
        {
            smtp.Dispose();
            throw;
        }
    }
}
