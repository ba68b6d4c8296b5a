using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>The greeting, QUIT, and the queue CLI against a running server.</summary>
public sealed class ServerBasicsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private PostboteServer Server => fixture.Server;

    [Fact]
    public async Task GreetingNamesTheConfiguredHostName()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        Assert.Matches(@"^220 mx\.test ESMTP( [^\r\n]*)?\r\n$", smtp.Greeting.Text);
        await SmtpDialog.ExpectAsync(smtp, "QUIT", @"^221[ \r]");
        Assert.True(await smtp.WaitForCloseAsync(TimeSpan.FromSeconds(5)), $"still open after QUIT\n{smtp.Transcript}");
    }

    [Fact]
    public async Task QueueListShowsAnEmptyQueueOnceMailIsDelivered()
    {
        var marker = SmtpDialog.NewMarker("queue-list");
        var content = SmtpDialog.SampleMessage(marker, to: "user50@example.com");
        using (var smtp = await SmtpConnection.ConnectAsync(Server.Port))
        {
            var reply = await SmtpDialog.SendMailAsync(smtp, "a@example.org", ["user50@example.com"], content);
            Assert.True(reply.Code == 250, $"{reply}\n{smtp.Transcript}");
            await DeliveryAssert.DeliveredOnceAsync(Server, "user50@example.com", marker, content, "a@example.org", SmtpDialog.QueueId(reply.Text));
        }

        Assert.True(await Server.WaitForEmptySpoolAsync(TimeSpan.FromSeconds(20)), $"spool not empty: {string.Join(", ", Server.SpoolFiles())}");
        var list = await Server.QueueListAsync();
        Assert.True(list.ExitCode == 0, $"postbote queue list failed\n{list.Output}");
        Assert.DoesNotContain(marker, list.StandardOutput, StringComparison.Ordinal);
    }
}
