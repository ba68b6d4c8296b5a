using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// SIGHUP reloads [tls] certificate and key: new connections get the new certificate, sessions opened before keep theirs
/// and go on working; a file that does not load leaves the current certificate in use.
/// </summary>
public sealed class CertificateReloadTests
{
    /// <summary>Writes <paramref name="certificate"/> as the server's PEM files, adds alice, starts the server.</summary>
    private static async Task<(string Certificate, string Key)> StartWithCertificateAsync(PostboteServer server,
        System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        var certificatePath = Path.Combine(server.TempDir, "tls-test", "cert.pem");
        var keyPath = Path.Combine(server.TempDir, "tls-test", "key.pem");
        TestCertificateAuthority.WritePem(certificate, certificatePath, keyPath);
        server.Options.TlsCertificate = certificatePath;
        server.Options.TlsKey = keyPath;
        server.WriteConfiguration();
        await server.AddUserAsync(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        await server.StartAsync();
        return (certificatePath, keyPath);
    }

    [Fact]
    public async Task SighupServesTheNewCertificateToNewConnectionsOnly()
    {
        using var authority = TestCertificateAuthority.Create();
        await using var server = new PostboteServer(new ServerOptions { Submission = true, Submissions = true }, "cert-reload");
        using var certificateA = authority.Issue(SmtpConnection.ServerName);
        using var certificateB = authority.Issue(SmtpConnection.ServerName);
        var (certificatePath, keyPath) = await StartWithCertificateAsync(server, certificateA);
        var validator = authority.Validator(SmtpConnection.ServerName, []);

        // Sessions opened before the reload: STARTTLS on MX, implicit TLS.
        using var beforeMx = await SmtpConnection.ConnectAsync(server.Port);
        await AuthDialog.StartTlsAsync(beforeMx, validator);
        AssertPresented(certificateA, beforeMx, "MX session before the reload");
        using var beforeImplicit = await SmtpConnection.ConnectTlsAsync(server.SubmissionsPort, validator);
        AssertPresented(certificateA, beforeImplicit, "submissions session before the reload");

        // Replace both files, then SIGHUP.
        var reloads = server.LogCount("TLS certificate reloaded");
        TestCertificateAuthority.WritePem(certificateB, certificatePath, keyPath);
        server.SendHangup();
        Assert.True(
            await server.WaitForLogAsync("TLS certificate reloaded", reloads + 1, TimeSpan.FromSeconds(10)),
            $"no reload logged after SIGHUP{server.Diagnostics(30)}");
        Assert.True(server.IsRunning, "SIGHUP ended the process");

        // New connections, on every kind of listener, see certificate B.
        using (var afterMx = await SmtpConnection.ConnectAsync(server.Port))
        {
            await AuthDialog.StartTlsAsync(afterMx, validator);
            AssertPresented(certificateB, afterMx, "MX session after the reload");
        }

        using (var afterSubmission = await SmtpConnection.ConnectAsync(server.SubmissionPort))
        {
            await AuthDialog.StartTlsAsync(afterSubmission, validator);
            AssertPresented(certificateB, afterSubmission, "submission session after the reload");
            await AuthDialog.PlainAsync(afterSubmission, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        }

        using (var afterImplicit = await SmtpConnection.ConnectTlsAsync(server.SubmissionsPort, validator))
        {
            AssertPresented(certificateB, afterImplicit, "submissions session after the reload");
        }

        // The sessions from before still work: a whole transaction with AUTH on each.
        foreach (var (before, name) in new[] { (beforeMx, "mx"), (beforeImplicit, "submissions") })
        {
            if (name == "submissions")
            {
                await AuthDialog.EhloInTlsAsync(before);
            }

            var marker = SmtpDialog.NewMarker($"before-reload-{name}");
            await AuthDialog.PlainAsync(before, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
            var reply = await SmtpDialog.SendMailAsync(
                before, TlsAuthServerFixture.Alice, ["rcpt@example.com"],
                SmtpDialog.SampleMessage(marker, from: TlsAuthServerFixture.Alice), ehlo: false);
            Assert.True(reply.Code == 250, $"{reply}\n{before.Transcript}");
            Assert.NotNull(await server.Mailbox("rcpt@example.com").WaitForMessageContainingAsync(marker));
            AssertPresented(certificateA, before, $"{name} session before the reload, after it");
        }
    }

    /// <summary>
    /// SCRAM-SHA-256-PLUS with tls-server-end-point binds to the certificate of the session's own TLS connection (RFC 5929
    /// §4.1: "the hash of the TLS server's certificate"); a session opened before a reload still has certificate A, and
    /// its binding data must be A's, not that of the certificate loaded since.
    /// </summary>
    [Fact]
    public async Task ScramPlusOnASessionOpenedBeforeAReloadBindsToItsOwnCertificate()
    {
        using var authority = TestCertificateAuthority.Create();
        // TLS 1.3, where MailKit binds with tls-server-end-point: -PLUS is offered there only with the setting.
        await using var server = new PostboteServer(new ServerOptions { Submissions = true, AuthScramPlusTls13 = true }, "cert-reload-plus");
        using var certificateA = authority.Issue(SmtpConnection.ServerName);
        using var certificateB = authority.Issue(SmtpConnection.ServerName);
        var (certificatePath, keyPath) = await StartWithCertificateAsync(server, certificateA);

        var logger = new CapturingProtocolLogger();
        using var before = new SmtpClient(logger);
        before.ServerCertificateValidationCallback = authority.Validator(SmtpConnection.ServerName, []);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.SubmissionsPort);
        await before.ConnectAsync(socket, SmtpConnection.ServerName, server.SubmissionsPort, SecureSocketOptions.SslOnConnect);

        TestCertificateAuthority.WritePem(certificateB, certificatePath, keyPath);
        server.SendHangup();
        Assert.True(
            await server.WaitForLogAsync("TLS certificate reloaded", 1, TimeSpan.FromSeconds(10)),
            $"no reload logged after SIGHUP{server.Diagnostics(30)}");

        var mechanism = new SaslMechanismScramSha256Plus(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        try
        {
            await before.AuthenticateAsync(mechanism);
        }
        catch (AuthenticationException e)
        {
            Assert.Fail(
                $"SCRAM-SHA-256-PLUS on a session opened before the reload: {e.Message}\n" +
                $"C: {Transcript.Escape(logger.ClientBytes, 2000)}\nS: {logger.ServerText}");
        }

        Assert.True(mechanism.NegotiatedChannelBinding);
        await before.DisconnectAsync(true);
    }

    [Fact]
    public async Task UnloadableFileKeepsTheCurrentCertificate()
    {
        using var authority = TestCertificateAuthority.Create();
        await using var server = new PostboteServer(new ServerOptions(), "cert-reload-bad");
        var certificatePath = Path.Combine(server.TempDir, "tls-test", "cert.pem");
        var keyPath = Path.Combine(server.TempDir, "tls-test", "key.pem");
        using var certificateA = authority.Issue(SmtpConnection.ServerName);
        TestCertificateAuthority.WritePem(certificateA, certificatePath, keyPath);
        server.Options.TlsCertificate = certificatePath;
        server.Options.TlsKey = keyPath;
        server.WriteConfiguration();
        await server.StartAsync();

        await File.WriteAllTextAsync(certificatePath, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        var clock = Stopwatch.StartNew();
        server.SendHangup();
        Assert.True(
            await server.WaitForLogAsync("TLS certificate reload failed", 1, TimeSpan.FromSeconds(10)),
            $"no reload failure logged after SIGHUP{server.Diagnostics(30)}");
        Assert.True(server.IsRunning, "SIGHUP with a bad file ended the process");
        using var smtp = await SmtpConnection.ConnectAsync(server.Port);
        await AuthDialog.StartTlsAsync(smtp, authority.Validator(SmtpConnection.ServerName, []));
        AssertPresented(certificateA, smtp, $"session {clock.Elapsed.TotalSeconds:F1} s after a failed reload");
    }

    private static void AssertPresented(X509Certificate2 expected, SmtpConnection smtp, string what)
    {
        var presented = smtp.Tls?.RemoteCertificate;
        Assert.True(presented is not null, $"{what}: no TLS certificate\n{smtp.Transcript}");
        Assert.True(
            presented.GetCertHashString() == expected.GetCertHashString(),
            $"{what}: presented {presented.Subject} serial {presented.GetSerialNumberString()}, expected serial {expected.GetSerialNumberString()}");
    }
}
