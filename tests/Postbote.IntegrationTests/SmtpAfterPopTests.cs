using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>A server with SMTP-after-POP open for 3 seconds and nobody trusted.</summary>
public sealed class SmtpAfterPopServerFixture : Pop3ServerFixture
{
    /// <summary>The window in seconds.</summary>
    public const int WindowSeconds = 3;

    /// <inheritdoc/>
    protected override int UserCount => 1;

    /// <inheritdoc/>
    protected override ServerOptions CreateOptions() => new() { Pop3 = true, Pop3SmtpAfterPopSeconds = WindowSeconds };
}

/// <summary>SMTP-after-POP ([pop3] smtp_after_pop): relay refused before a POP3 login from the address, allowed after
/// it, refused again once the window has passed.</summary>
public sealed class SmtpAfterPopTests(SmtpAfterPopServerFixture fixture) : IClassFixture<SmtpAfterPopServerFixture>
{
    private PostboteServer Server => fixture.Server;

    private async Task<string> RelayReplyAsync()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<user1@example.com>", "^250");
        var reply = await smtp.CommandAsync("RCPT TO:<someone@elsewhere.example>");
        return reply.Text.Split("\r\n")[0];
    }

    [Fact]
    public async Task RelayIsAllowedOnlyWithinTheWindowAfterAPop3Login()
    {
        Assert.Equal("554 5.7.1 <someone@elsewhere.example>: Relay access denied", await RelayReplyAsync());
        using (var pop = await Pop3Dialog.ConnectAsync(Server.Pop3TlsPort, tls: true))
        {
            Assert.Equal("-ERR [AUTH] Authentication failed", await pop.LoginAsync(Pop3ServerFixture.User(1), "wrong"));
        }

        Assert.Equal("554 5.7.1 <someone@elsewhere.example>: Relay access denied", await RelayReplyAsync());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var pop = await Pop3Dialog.ConnectAsync(Server.Pop3TlsPort, tls: true))
        {
            Assert.StartsWith("+OK Logged in", await pop.LoginAsync(Pop3ServerFixture.User(1), Pop3ServerFixture.Password), StringComparison.Ordinal);
            Assert.StartsWith("+OK", await pop.CommandAsync("QUIT"), StringComparison.Ordinal);
        }

        var sinceLogin = System.Diagnostics.Stopwatch.StartNew(); // the window opened at the latest now

        string during = await RelayReplyAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(SmtpAfterPopServerFixture.WindowSeconds), "the machine was too slow to test inside the window");
        Assert.Equal("250 2.1.5 Ok", during);
        await Task.Delay(TimeSpan.FromSeconds(SmtpAfterPopServerFixture.WindowSeconds) - sinceLogin.Elapsed + TimeSpan.FromMilliseconds(500));
        Assert.Equal("554 5.7.1 <someone@elsewhere.example>: Relay access denied", await RelayReplyAsync());
    }
}
