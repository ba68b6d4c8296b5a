using System.Net;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>A server with POP3, submission and a low failure limit.</summary>
public sealed class Pop3BruteForceServerFixture : Pop3ServerFixture
{
    /// <inheritdoc/>
    protected override int UserCount => 1;

    /// <inheritdoc/>
    protected override ServerOptions CreateOptions() =>
        new() { Pop3 = true, Submission = true, AuthMaxFailures = 3, AuthFailureWindowSeconds = 60, AuthBlockTimeSeconds = 60 };
}

/// <summary>Password guessing over POP3 is blocked like SMTP AUTH guessing, by the same limiter: past [auth]
/// max_failures the address gets -ERR [SYS/TEMP] for every POP3 login and 454 4.7.0 for SMTP AUTH, right password or
/// not.</summary>
public sealed class Pop3BruteForceTests(Pop3BruteForceServerFixture fixture) : IClassFixture<Pop3BruteForceServerFixture>
{
    [Fact]
    public async Task GuessesOverPop3BlockTheAddressForPop3AndSmtpAuth()
    {
        PostboteServer server = fixture.Server;
        string user = Pop3ServerFixture.User(1);
        for (int i = 0; i < 3; i++)
        {
            using var pop = await Pop3Dialog.ConnectAsync(server.Pop3TlsPort, tls: true);
            Assert.Equal("-ERR [AUTH] Authentication failed", await pop.LoginAsync(user, "guess" + i));
        }

        using (var pop = await Pop3Dialog.ConnectAsync(server.Pop3TlsPort, tls: true))
        {
            Assert.Equal("-ERR [SYS/TEMP] Too many failed logins from your address, try again later", await pop.LoginAsync(user, Pop3ServerFixture.Password));
            Assert.Equal("-ERR [SYS/TEMP] Too many failed logins from your address, try again later",
                await pop.CommandAsync("AUTH PLAIN " + AuthDialog.Base64("\0" + user + "\0" + Pop3ServerFixture.Password)));
        }

        using (var smtp = await SmtpConnection.ConnectFromAsync(IPAddress.Loopback, server.SubmissionPort))
        {
            await AuthDialog.StartTlsAsync(smtp);
            await AuthDialog.PlainAsync(smtp, user, Pop3ServerFixture.Password, "^454 4\\.7\\.0 ");
        }

        Assert.True(await server.WaitForLogAsync("blocked for 60 s after 3 failed attempts", 1, TimeSpan.FromSeconds(5)), server.Diagnostics());
        Assert.Equal(0, server.LogCount(Pop3ServerFixture.Password));
    }
}
