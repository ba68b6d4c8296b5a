using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// The open-relay battery: forward-paths that route to a foreign domain in every way mail servers have been tricked
/// with, sent by a client that is neither trusted nor authenticated. Each is refused at RCPT with 554 5.7.1 and nothing
/// for a foreign domain is ever queued.
/// </summary>
public sealed class OpenRelayTests(TlsAuthServerFixture fixture) : IClassFixture<TlsAuthServerFixture>
{
    /// <summary>The probes: (MAIL FROM, RCPT TO forward-path), local domain example.com, foreign example.org / example.net.</summary>
    public static TheoryData<string, string> Probes { get; } = new()
    {
        { "probe@example.org", "<victim@example.org>" },
        { "probe@example.org", "<victim@EXAMPLE.ORG.>" },
        { "alice@example.com", "<victim@example.org>" },
        { "<>", "<victim@example.net>" },
        { "probe@example.org", "<victim%example.org@example.com>" },
        { "probe@example.org", "<victim%example.org@EXAMPLE.COM>" },
        { "probe@example.org", "<victim%example.org@example.com.>" },
        { "probe@example.org", "<example.org!victim@example.com>" },
        { "probe@example.org", "<example.org!victim@Example.Com.>" },
        { "probe@example.org", "<\"victim@example.org\"@example.com>" },
        { "probe@example.org", "<\"victim@example.org\"@EXAMPLE.com.>" },
        { "probe@example.org", "<\"victim%example.org\"@example.com>" },
        { "probe@example.org", "<@example.com:victim@example.org>" },
        { "probe@example.org", "<@example.com,@mx.EXAMPLE.COM:victim@example.org>" },
        { "probe@example.org", "<victim@example.org@example.com>" },
        { "probe@example.org", "<victim@example.org@EXAMPLE.COM.>" },
        { "probe@example.org", "<victim@[192.0.2.1]>" },
        { "probe@example.org", "<victim@[IPv6:2001:db8::1]>" },
        { "probe@example.org", "<victim@sub.example.com>" },
        { "probe@example.org", "<victim@example.com.example.org>" },
    };

    private PostboteServer Server => fixture.Server;

    [Theory]
    [MemberData(nameof(Probes))]
    public async Task ProbeWithoutAuthIsRefusedWith571(string from, string forwardPath)
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        await ProbeAsync(smtp, from, forwardPath);
    }

    [Theory]
    [MemberData(nameof(Probes))]
    public async Task ProbeAfterFailedAuthOverTlsIsRefusedWith571(string from, string forwardPath)
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await AuthDialog.StartTlsAsync(smtp);
        await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, "guess", "^535 5\\.7\\.8 ");
        await SmtpDialog.ExpectAsync(smtp, "AUTH LOGIN " + AuthDialog.Base64(TlsAuthServerFixture.Alice), "^334 ");
        await SmtpDialog.ExpectAsync(smtp, "*", "^501 5\\.7\\.0 ");
        await ProbeAsync(smtp, from, forwardPath);
    }

    /// <summary>Runs after the probes (xunit runs a class's tests in one collection, one at a time, in any order; this
    /// one sends the whole battery itself first so it holds alone).</summary>
    [Fact]
    public async Task NothingForAForeignDomainIsQueued()
    {
        foreach (var probe in Probes)
        {
            using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
            await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
            await SmtpDialog.ExpectAsync(smtp, $"MAIL FROM:{Path((string)probe[0])}", "^250");
            await SmtpDialog.ExpectAsync(smtp, $"RCPT TO:{probe[1]}", "^554 5\\.7\\.1 ");

            // A client that ignores the refusal and sends the message anyway: no valid recipient, so no queue entry.
            await SmtpDialog.ExpectAsync(smtp, "DATA", "^554 5\\.5\\.1 |^503 5\\.5\\.1 ");
            await SmtpDialog.ExpectAsync(smtp, "QUIT", "^221");
        }

        var list = await Server.QueueListAsync();
        Assert.True(list.ExitCode == 0, list.Output);
        foreach (var foreign in new[] { "example.org", "example.net", "192.0.2.1", "2001:db8", "sub.example.com" })
        {
            Assert.DoesNotContain(foreign, list.StandardOutput, StringComparison.OrdinalIgnoreCase);
        }

        // This class's server never accepted a message.
        Assert.Equal("queue is empty", list.StandardOutput.Trim());
    }

    private static string Path(string from) => from == "<>" ? from : $"<{from}>";

    private static async Task ProbeAsync(SmtpConnection smtp, string from, string forwardPath)
    {
        await SmtpDialog.ExpectAsync(smtp, $"MAIL FROM:{Path(from)}", "^250 2\\.1\\.0 ");
        await SmtpDialog.ExpectAsync(smtp, $"RCPT TO:{forwardPath}", "^554 5\\.7\\.1 ");

        // The refusal is about the relay, not the session: a local recipient is still accepted.
        await SmtpDialog.ExpectAsync(smtp, "RCPT TO:<rcpt@example.com>", "^250 2\\.1\\.5 ");
        await SmtpDialog.ExpectAsync(smtp, "RSET", "^250");
        await SmtpDialog.ExpectAsync(smtp, "QUIT", "^221");
    }
}
