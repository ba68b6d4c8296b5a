using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>Python's smtplib (sendmail) delivers to local Maildirs.</summary>
public sealed class SmtplibTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Scripts", "smtplib_send.py");

    private PostboteServer Server => fixture.Server;

    [Fact]
    public async Task SendmailMessageIsStoredByteForByte()
    {
        var marker = SmtpDialog.NewMarker("smtplib");
        var expected = SmtpDialog.SampleMessage(marker);
        var (result, queueId, context) = await SendAsync("a@example.org", ["rcpt@example.com"], expected);
        Assert.True(result.ExitCode == 0, $"smtplib failed{context}{Server.Diagnostics()}");
        await DeliveryAssert.DeliveredOnceAsync(Server, "rcpt@example.com", marker, expected, "a@example.org", queueId, context);
    }

    [Fact]
    public async Task EightBitBodyIsStoredUnchanged()
    {
        var marker = SmtpDialog.NewMarker("smtplib-8bit");
        var expected = Encoding.UTF8.GetBytes(
            $"From: <a@example.org>\r\nTo: <user2@example.com>\r\nSubject: {marker}\r\n" +
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
            "Grüße aus Köln — ünïcödé\r\n.\r\n..\r\nend\r\n");
        var (result, queueId, context) = await SendAsync("a@example.org", ["user2@example.com"], expected, "BODY=8BITMIME");
        Assert.True(result.ExitCode == 0, $"smtplib failed{context}{Server.Diagnostics()}");
        await DeliveryAssert.DeliveredOnceAsync(Server, "user2@example.com", marker, expected, "a@example.org", queueId, context);
    }

    [Fact]
    public async Task NullReversePathAndTwoRecipientsGiveOneCopyEach()
    {
        var marker = SmtpDialog.NewMarker("smtplib-multi");
        var expected = SmtpDialog.SampleMessage(marker, from: "mailer-daemon@example.org", to: "user3@example.com");
        var (result, queueId, context) = await SendAsync(string.Empty, ["user3@example.com", "user4@example.com"], expected);
        Assert.True(result.ExitCode == 0, $"smtplib failed{context}{Server.Diagnostics()}");
        await DeliveryAssert.DeliveredOnceAsync(Server, "user3@example.com", marker, expected, string.Empty, queueId, context);
        await DeliveryAssert.DeliveredOnceAsync(Server, "user4@example.com", marker, expected, string.Empty, queueId, context);
    }

    private async Task<(ExternalProcess.Result Result, string? QueueId, string Context)> SendAsync(
        string from, string[] recipients, byte[] content, params string[] mailOptions)
    {
        var file = Path.Combine(Server.TempDir, Guid.NewGuid().ToString("N") + ".eml");
        await File.WriteAllBytesAsync(file, content);
        var result = await ExternalProcess.RunAsync(
            "python3",
            [Script, Server.Port.ToString(CultureInfo.InvariantCulture), from, string.Join(',', recipients), file, .. mailOptions],
            TimeSpan.FromSeconds(60));
        var context = $"\n--- smtplib (exit {result.ExitCode}) ---\n{result.Output}";

        // smtplib's debug output shows the reply to the end of data as: reply: b'250 2.0.0 Ok: queued as ID\r\n'
        var queued = Regex.Match(result.StandardError, @"reply: b'250 2\.0\.0 Ok: queued as [^\\']+");
        Assert.True(queued.Success, $"no '250 2.0.0 Ok: queued as ID' reply to the end of data{context}");
        return (result, SmtpDialog.QueueId(queued.Value), context);
    }
}
