using System.Globalization;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// STARTTLS (RFC 3207) and the AUTH replies of RFC 4954 around it: the plaintext command injection of CVE-2011-0411,
/// openssl s_client as a client, and the sequence errors.
/// </summary>
public sealed class StartTlsTests(TlsAuthServerFixture fixture) : IClassFixture<TlsAuthServerFixture>
{
    private PostboteServer Server => fixture.Server;

    /// <summary>
    /// RFC 3207 §4.2: "the server MUST discard any knowledge obtained from the client"; commands pipelined after STARTTLS
    /// in the same write were sent in clear text and must not run inside TLS (CVE-2011-0411).
    /// </summary>
    [Fact]
    public async Task PlaintextCommandsPipelinedAfterStartTlsAreDiscarded()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "(?s)^250.*STARTTLS");
        // Any byte after the 220 in clear text fails the handshake; inside TLS nothing may arrive unasked.
        await AuthDialog.StartTlsWithPipelinedAsync(
            smtp, "MAIL FROM:<mallory@example.net>\r\nRCPT TO:<rcpt@example.com>\r\n", fixture.Authority.Validator(SmtpConnection.ServerName, []));

        // The EHLO before TLS is forgotten too, and no transaction is open.
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<a@example.org>", "^503 5\\.5\\.1 ");
        await AuthDialog.EhloInTlsAsync(smtp);
        await SmtpDialog.ExpectAsync(smtp, "RCPT TO:<rcpt@example.com>", "^503 5\\.5\\.1 ");
        await SmtpDialog.ExpectAsync(smtp, "DATA", "^503 5\\.5\\.1 ");
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<a@example.org>", "^250 2\\.1\\.0 ");
        await SmtpDialog.ExpectAsync(smtp, "RCPT TO:<rcpt@example.com>", "^250 2\\.1\\.5 ");
        await SmtpDialog.ExpectAsync(smtp, "QUIT", "^221 2\\.0\\.0 ");
    }

    /// <summary>Credentials injected in clear text after STARTTLS do not authenticate the TLS session.</summary>
    [Fact]
    public async Task AuthInjectedAfterStartTlsDoesNotAuthenticate()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.SubmissionPort);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "(?s)^250.*STARTTLS");
        await AuthDialog.StartTlsWithPipelinedAsync(
            smtp,
            "EHLO client.test\r\nAUTH PLAIN " + AuthDialog.Plain(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword) +
            "\r\nMAIL FROM:<alice@example.com>\r\n");
        await AuthDialog.EhloInTlsAsync(smtp);
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<alice@example.com>", "^530 5\\.7\\.0 ");
        await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<alice@example.com>", "^250 2\\.1\\.0 ");
    }

    /// <summary>openssl s_client -starttls smtp gets through the handshake (certificate verified) and sees an EHLO reply without STARTTLS.</summary>
    [Fact]
    public async Task OpensslStartTlsSessionSeesEhloWithoutStartTls()
    {
        var result = await OpensslAsync(Server.Port, "EHLO client.test\nQUIT\n");
        var context = $"\n--- openssl s_client (exit {result.ExitCode}) ---\n{result.Output}";
        Assert.False(result.TimedOut, context);
        Assert.Contains("Verification: OK", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("Verified peername: mx.test", result.StandardError, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^Protocol version: TLSv1\.3\r?$", result.StandardError);

        // The reply to our EHLO inside TLS, then 221; s_client itself sent the EHLO and STARTTLS before.
        var text = result.StandardOutput.Replace("\r", string.Empty, StringComparison.Ordinal);
        // TLS 1.3: no -PLUS by default (tls-exporter, its binding there, is not served; [auth] scram_plus_tls13).
        Assert.Matches(@"(?m)^250-mx\.test\n(250-.*\n)*250 AUTH SCRAM-SHA-256 PLAIN LOGIN\n221 2\.0\.0 Bye\n", text);
        Assert.DoesNotContain("STARTTLS", text, StringComparison.Ordinal);
    }

    /// <summary>
    /// RFC 8446 §6.1: "Each party MUST send a close_notify alert before closing its write side of the connection". After
    /// 221 inside TLS, openssl must see a clean TLS close, not "unexpected eof while reading".
    /// </summary>
    [Fact]
    public async Task TlsSessionEndsWithCloseNotifyAfterQuit()
    {
        var result = await OpensslAsync(Server.Port, "EHLO client.test\nQUIT\n");
        var context = $"\n--- openssl s_client (exit {result.ExitCode}) ---\n{result.Output}";
        Assert.Contains("221 2.0.0 Bye", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected eof while reading", result.StandardError, StringComparison.Ordinal);
        Assert.True(result.ExitCode == 0, context);
    }

    [Fact]
    public async Task StartTlsTwiceOrInsideATransactionGets503()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<a@example.org>", "^250");
        await SmtpDialog.ExpectAsync(smtp, "STARTTLS", "^503 5\\.5\\.1 ");
        await SmtpDialog.ExpectAsync(smtp, "RSET", "^250");
        await SmtpDialog.ExpectAsync(smtp, "STARTTLS extra", "^501 5\\.5\\.4 ");
        await SmtpDialog.ExpectAsync(smtp, "STARTTLS", "^220 2\\.0\\.0 ");
        await smtp.StartTlsAsync();
        await AuthDialog.EhloInTlsAsync(smtp);
        await SmtpDialog.ExpectAsync(smtp, "STARTTLS", "^503 5\\.5\\.1 ");
        await SmtpDialog.ExpectAsync(smtp, "NOOP", "^250");

        // On the implicit-TLS port there is nothing to start.
        using var implicitTls = await SmtpConnection.ConnectTlsAsync(Server.SubmissionsPort);
        Assert.True(implicitTls.Greeting.Code == 220, implicitTls.Transcript.ToString());
        await AuthDialog.EhloInTlsAsync(implicitTls);
        await SmtpDialog.ExpectAsync(implicitTls, "STARTTLS", "^5\\d\\d 5\\.5\\.\\d ");
    }

    /// <summary>The AUTH replies of RFC 4954 §4, §6 and §9 and RFC 3207 §4, each with its enhanced status code.</summary>
    [Fact]
    public async Task AuthRepliesFollowRfc4954()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        var ehlo = await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        Assert.DoesNotContain("AUTH", ehlo.Text, StringComparison.Ordinal);

        // RFC 4954 §6: 538 5.7.11 when the mechanism needs an encrypted channel; no 235 ever in clear text.
        await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword, "^538 5\\.7\\.11 ");
        await SmtpDialog.ExpectAsync(smtp, "AUTH LOGIN", "^538 5\\.7\\.11 ");
        await SmtpDialog.ExpectAsync(smtp, "STARTTLS", "^220 2\\.0\\.0 ");
        await smtp.StartTlsAsync();
        await SmtpDialog.ExpectAsync(smtp, "AUTH PLAIN " + AuthDialog.Plain(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword), "^503 5\\.5\\.1 ");
        await AuthDialog.EhloInTlsAsync(smtp);

        // RFC 4954 §4: "*" cancels with 501; a reply that is not base64 is 501 too.
        await SmtpDialog.ExpectAsync(smtp, "AUTH LOGIN", "^334 VXNlcm5hbWU6\r\n$");
        await SmtpDialog.ExpectAsync(smtp, "*", "^501 5\\.7\\.0 ");
        await SmtpDialog.ExpectAsync(smtp, "AUTH PLAIN", "^334 \r\n$");
        await SmtpDialog.ExpectAsync(smtp, "*", "^501 5\\.7\\.0 ");
        await SmtpDialog.ExpectAsync(smtp, "AUTH PLAIN %%%not-base64%%%", "^501 5\\.5\\.2 ");
        await SmtpDialog.ExpectAsync(smtp, "AUTH LOGIN", "^334 ");
        await SmtpDialog.ExpectAsync(smtp, "!!!!", "^501 5\\.5\\.2 ");
        await SmtpDialog.ExpectAsync(smtp, "AUTH CRAM-MD5", "^504 5\\.5\\.4 ");

        // RFC 4954 §4: a response line of 12288 octets is accepted (here: not valid PLAIN data), a longer one gets 500 5.5.6.
        await SmtpDialog.ExpectAsync(smtp, "AUTH PLAIN", "^334 ");
        await SmtpDialog.ExpectAsync(smtp, new string('A', 12288), "^501 5\\.5\\.2 ");
        await SmtpDialog.ExpectAsync(smtp, "AUTH PLAIN", "^334 ");
        await SmtpDialog.ExpectAsync(smtp, new string('A', 12300), "^500 5\\.5\\.6 ");
        await SmtpDialog.ExpectAsync(smtp, "NOOP", "^250 ");

        // RFC 4954 §6: 535 5.7.8 for wrong credentials; then the right ones, and AUTH again is 503.
        await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, "s3cret ", "^535 5\\.7\\.8 ");
        await SmtpDialog.ExpectAsync(smtp, "AUTH LOGIN " + AuthDialog.Base64(TlsAuthServerFixture.Alice), "^334 UGFzc3dvcmQ6\r\n$");
        await SmtpDialog.ExpectAsync(smtp, AuthDialog.Base64("wrong"), "^535 5\\.7\\.8 ");
        await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword, "^503 5\\.5\\.1 ");
        await SmtpDialog.ExpectAsync(smtp, "QUIT", "^221 2\\.0\\.0 ");
    }

    /// <summary>
    /// RFC 4954 §4 and §6: a SASL response longer than the server's 12288-octet buffer gets 500 5.5.6, whether it comes
    /// as a continuation line or as the initial response on the AUTH line itself.
    /// </summary>
    [Fact]
    public async Task OverlongInitialResponseGets500556LikeAnOverlongContinuation()
    {
        using var smtp = await SmtpConnection.ConnectAsync(Server.Port);
        await AuthDialog.StartTlsAsync(smtp);
        await SmtpDialog.ExpectAsync(smtp, "AUTH PLAIN", "^334 ");
        await SmtpDialog.ExpectAsync(smtp, new string('A', 12300), "^500 5\\.5\\.6 ");
        await SmtpDialog.ExpectAsync(smtp, "AUTH PLAIN " + new string('A', 12300), "^500 5\\.5\\.6 ");
        await SmtpDialog.ExpectAsync(smtp, "NOOP", "^250 ");
        await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
    }

    /// <summary>require_tls on the MX port: every command but EHLO, HELO, STARTTLS, NOOP, RSET and QUIT needs TLS first.</summary>
    [Fact]
    public async Task RequireTlsRefusesMailBeforeStartTls()
    {
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions { RequireTls = true }, "require-tls");
        using var smtp = await SmtpConnection.ConnectAsync(server.Port);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "(?s)^250.*STARTTLS");
        await SmtpDialog.ExpectAsync(smtp, "NOOP", "^250 ");
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<a@example.org>", "^530 5\\.7\\.0 Must issue a STARTTLS command first\r\n$");
        await SmtpDialog.ExpectAsync(smtp, "VRFY rcpt", "^530 5\\.7\\.0 ");
        await SmtpDialog.ExpectAsync(smtp, "RSET", "^250 ");
        await SmtpDialog.ExpectAsync(smtp, "STARTTLS", "^220 2\\.0\\.0 ");
        await smtp.StartTlsAsync();
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        await SmtpDialog.ExpectAsync(smtp, "MAIL FROM:<a@example.org>", "^250 2\\.1\\.0 ");
        await SmtpDialog.ExpectAsync(smtp, "RCPT TO:<rcpt@example.com>", "^250 2\\.1\\.5 ");
    }

    private async Task<ExternalProcess.Result> OpensslAsync(int port, string input)
    {
        return await ExternalProcess.RunAsync(
            "openssl",
            [
                "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                "-servername", SmtpConnection.ServerName, "-CAfile", fixture.CaFile, "-verify_hostname", SmtpConnection.ServerName,
                "-verify_return_error", "-crlf", "-brief", "-ign_eof",
            ],
            TimeSpan.FromSeconds(30),
            Server.TempDir,
            System.Text.Encoding.ASCII.GetBytes(input));
    }
}
