using System.Diagnostics;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>An idle client gets 421 4.4.2 and is disconnected (RFC 5321 §4.5.3.2 wants 421, not 221).</summary>
public sealed class IdleTimeoutTests(IdleTimeoutServerFixture fixture) : IClassFixture<IdleTimeoutServerFixture>
{
    private PostboteServer Server => fixture.Server;

    [Theory]
    [InlineData("after EHLO")]
    [InlineData("inside a transaction")]
    [InlineData("after the greeting")]
    public async Task IdleClientGets421AndIsDisconnected(string when)
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        if (when != "after the greeting")
        {
            await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        }

        if (when == "inside a transaction")
        {
            await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<a@example.org>", "^250");
        }

        var clock = Stopwatch.StartNew();
        var reply = await smtp.ReadReplyAsync(TimeSpan.FromSeconds(15));
        var elapsed = clock.Elapsed;
        Assert.True(reply.Text.StartsWith("421 4.4.2", StringComparison.Ordinal), $"expected 421 4.4.2, got {reply} after {elapsed.TotalSeconds:F1} s\n{smtp.Transcript}{Server.Diagnostics(40)}");
        Assert.InRange(elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(8));
        Assert.True(await smtp.WaitForCloseAsync(TimeSpan.FromSeconds(5)), $"the connection stayed open after 421\n{smtp.Transcript}");
    }
}
