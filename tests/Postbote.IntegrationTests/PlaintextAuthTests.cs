using System.Globalization;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// <c>plaintext_auth = true</c> does what docs/configuration.md says: AUTH (and with it submission) without TLS. EHLO
/// offers exactly the mechanisms the next AUTH accepts (RFC 4954 §3), so an offered mechanism is never answered with
/// <c>530 5.7.0 Must issue a STARTTLS command first</c>.
/// </summary>
public sealed class PlaintextAuthTests(PlaintextAuthServerFixture fixture) : IClassFixture<PlaintextAuthServerFixture>
{
    private PostboteServer Server => fixture.Server;

    [Fact]
    public async Task SubmissionOffersAuthBeforeTlsAndTheOfferedPlainIsAccepted()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.SubmissionPort);
        var ehlo = await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        // No -PLUS without TLS: there is no channel to bind to.
        Assert.Contains("250-STARTTLS\r\n", ehlo.Text, StringComparison.Ordinal);
        Assert.EndsWith("250 AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n", ehlo.Text, StringComparison.Ordinal);
        await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword, "^235 2\\.7\\.0 Authentication successful\r\n$");
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<alice@example.com>", "^250 2\\.1\\.0 Ok\r\n$");
        await SmtpDialog.ExpectAsync(smtp, "RCPT TO:<rcpt@example.com>", "^250 2\\.1\\.5 Ok\r\n$");
    }

    [Fact]
    public async Task SwaksSubmitsWithAuthLoginWithoutTls()
    {
        var marker = SmtpDialog.NewMarker("swaks-plaintext-auth");
        List<string> args =
        [
            "--server", "127.0.0.1", "--port", Server.SubmissionPort.ToString(CultureInfo.InvariantCulture),
            "--helo", "client.test", "--from", TlsAuthServerFixture.Alice, "--to", "rcpt@example.com",
            "--auth", "LOGIN", "--auth-user", TlsAuthServerFixture.Alice, "--auth-password", TlsAuthServerFixture.AlicePassword,
            "--header", $"Subject: {marker}", "--body", $"body of {marker}", "--timeout", "30",
        ];
        var result = await ExternalProcess.RunAsync("swaks", args, TimeSpan.FromSeconds(60));
        var context = $"\n--- swaks (exit {result.ExitCode}) ---\n{result.Output}{Server.Diagnostics(60)}";
        Assert.True(result.ExitCode == 0, "swaks failed" + context);
        Assert.Contains("<-  235 2.7.0 Authentication successful", result.StandardOutput, StringComparison.Ordinal);
        var message = await Server.Mailbox("rcpt@example.com").WaitForMessageContainingAsync(marker, TimeSpan.FromSeconds(20));
        Assert.True(message is not null, $"{marker} not delivered{context}");
        Assert.Contains(" with ESMTPA id ", message.SplitTrace().Received, StringComparison.Ordinal);
    }
}
