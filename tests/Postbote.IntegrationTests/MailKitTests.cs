using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>MailKit's SmtpClient (pipelining, and BDAT when CHUNKING is offered) delivers to local Maildirs.</summary>
public sealed class MailKitTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private PostboteServer Server => fixture.Server;

    [Fact]
    public async Task PipelinedMessageIsStoredAsMailKitWroteIt()
    {
        var marker = SmtpDialog.NewMarker("mailkit");
        var logger = new CapturingProtocolLogger();
        using var client = new SmtpClient(logger);
        await client.ConnectAsync("127.0.0.1", Server.Port, SecureSocketOptions.None);
        Assert.True(
            client.Capabilities.HasFlag(SmtpCapabilities.Pipelining),
            $"PIPELINING is not offered: {client.Capabilities}\n{logger.ServerText}");
        var response = await client.SendAsync(CreateMessage(marker, ["rcpt@example.com"]));
        await client.DisconnectAsync(true);

        var context = Context(logger, response);
        Assert.StartsWith("2.0.0 Ok: queued as ", response, StringComparison.Ordinal);

        // With PIPELINING, MailKit sends MAIL FROM and RCPT TO in one write.
        Assert.True(
            logger.ClientWrites.Any(w => Contains(w, "MAIL FROM:") && Contains(w, "RCPT TO:")),
            $"MAIL and RCPT were not sent in one write{context}");
        var payload = Assert.Single(logger.MessagePayloads());
        Assert.Contains("DATA", logger.Commands);
        await DeliveryAssert.DeliveredOnceAsync(
            Server, "rcpt@example.com", marker, payload, "alice@example.org", SmtpDialog.QueueId(response), context);
    }

    [Fact]
    public async Task BdatIsUsedWhenChunkingIsOfferedAndStoredUnchanged()
    {
        var marker = SmtpDialog.NewMarker("mailkit-bdat");
        var logger = new CapturingProtocolLogger();
        using var client = new BdatSmtpClient(logger);
        await client.ConnectAsync("127.0.0.1", Server.Port, SecureSocketOptions.None);
        if (!client.Capabilities.HasFlag(SmtpCapabilities.Chunking))
        {
            // Not offered: BDAT is then an unknown command (RFC 3030 §2), refused without touching the session.
            await client.DisconnectAsync(true);
            using var raw = await SmtpConnection.ConnectAsync(Server.Port);
            await SmtpDialog.ExpectAsync(raw, "EHLO client.test", "^250");
            await SmtpDialog.ExpectAsync(raw, "MAIL FROM:<a@example.org>", "^250");
            await SmtpDialog.ExpectAsync(raw, "RCPT TO:<rcpt@example.com>", "^250");
            await SmtpDialog.ExpectAsync(raw, "BDAT 0 LAST", "^5(00|02|03) ");
            await SmtpDialog.ExpectAsync(raw, "RSET", "^250");
            return;
        }

        var response = await client.SendAsync(CreateMessage(marker, ["rcpt@example.com"]));
        await client.DisconnectAsync(true);
        var context = Context(logger, response);
        var payload = Assert.Single(logger.MessagePayloads());
        Assert.True(logger.Commands.Any(c => c.StartsWith("BDAT ", StringComparison.Ordinal)), $"MailKit did not use BDAT{context}");
        Assert.StartsWith("2.0.0 Ok: queued as ", response, StringComparison.Ordinal);
        await DeliveryAssert.DeliveredOnceAsync(
            Server, "rcpt@example.com", marker, payload, "alice@example.org", SmtpDialog.QueueId(response), context);
    }

    [Fact]
    public async Task MultiRecipientMessageGivesOneCopyPerMailbox()
    {
        var marker = SmtpDialog.NewMarker("mailkit-multi");
        var logger = new CapturingProtocolLogger();
        using var client = new SmtpClient(logger);
        await client.ConnectAsync("127.0.0.1", Server.Port, SecureSocketOptions.None);
        string[] mailboxes = ["user10@example.com", "user11@example.com", "user12@example.com", "user13@example.com"];
        var message = CreateMessage(marker, mailboxes[..2]);
        message.Cc.Add(MailboxAddress.Parse(mailboxes[2]));
        message.Bcc.Add(MailboxAddress.Parse(mailboxes[3]));
        var response = await client.SendAsync(message);
        await client.DisconnectAsync(true);

        var context = Context(logger, response);
        var payload = Assert.Single(logger.MessagePayloads());
        Assert.Equal(mailboxes.Length, logger.Commands.Count(c => c.StartsWith("RCPT TO:", StringComparison.Ordinal)));
        Assert.DoesNotContain("Bcc:", Encoding.ASCII.GetString(payload), StringComparison.OrdinalIgnoreCase);
        foreach (var mailbox in mailboxes)
        {
            await DeliveryAssert.DeliveredOnceAsync(
                Server, mailbox, marker, payload, "alice@example.org", SmtpDialog.QueueId(response), context);
        }
    }

    private static MimeMessage CreateMessage(string marker, IEnumerable<string> to)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Alice Example", "alice@example.org"));
        foreach (var address in to)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }

        message.Subject = $"{marker} Grüße";
        message.MessageId = $"{marker}@client.test";
        message.Date = new DateTimeOffset(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);
        var body = new StringBuilder();
        body.Append(".leading dot line\r\n..\r\n.\r\n");
        for (var i = 0; i < 200; i++)
        {
            body.Append(System.Globalization.CultureInfo.InvariantCulture, $"line {i} of {marker}: the quick brown fox jumps over the lazy dog\r\n");
        }

        var attachment = new MimePart("application", "octet-stream")
        {
            Content = new MimeContent(new MemoryStream(Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray())),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = "bytes.bin",
        };
        message.Body = new Multipart("mixed") { new TextPart("plain") { Text = body.ToString() }, attachment };
        return message;
    }

    private static bool Contains(byte[] write, string text) =>
        Encoding.ASCII.GetString(write).Contains(text, StringComparison.Ordinal);

    private static string Context(CapturingProtocolLogger logger, string response) =>
        $"\n--- MailKit (final response: {response}) ---\nC: {Transcript.Escape(logger.ClientBytes, 3000)}\nS: {logger.ServerText}";
}
