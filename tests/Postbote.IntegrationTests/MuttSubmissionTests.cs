using System.Globalization;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// Debian's mutt (2.2, built with GNU SASL and GnuTLS) sends a message in batch mode through the submission listener
/// with nothing but the settings a user writes: STARTTLS, which comes up as TLS 1.3, and AUTH with the mechanism mutt
/// chooses on its own. While SCRAM-SHA-256-PLUS was offered on TLS 1.3, mutt chose it, had no tls-exporter data to give
/// GNU SASL ("a tls-exporter channel binding was not provided") and gave up without trying another mechanism; now it
/// chooses SCRAM-SHA-256.
/// </summary>
public sealed class MuttSubmissionTests(TlsAuthServerFixture fixture) : IClassFixture<TlsAuthServerFixture>
{
    private PostboteServer Server => fixture.Server;

    [Fact]
    public async Task MuttWithDefaultSettingsAuthenticatesOverTls13AndTheMessageIsDelivered()
    {
        var marker = SmtpDialog.NewMarker("mutt-submission");
        var home = Path.Combine(Server.TempDir, "mutt-home-" + marker);
        Directory.CreateDirectory(home);
        var config = Path.Combine(home, "muttrc");
        var port = Server.SubmissionPort.ToString(CultureInfo.InvariantCulture);

        // What a user writes for a submission server: no smtp_authenticators, so mutt (through GNU SASL) picks the
        // mechanism. The certificate names mx.test and mutt connects to 127.0.0.1 (no resolver in tests), so the host
        // name check is off; the chain is still checked against the test CA.
        File.WriteAllText(config, string.Join('\n',
            $"set smtp_url=\"smtp://alice%40example.com@127.0.0.1:{port}/\"",
            $"set smtp_pass=\"{TlsAuthServerFixture.AlicePassword}\"",
            "set ssl_starttls=yes",
            "set ssl_force_tls=yes",
            "set ssl_verify_host=no",
            $"set ssl_ca_certificates_file=\"{fixture.CaFile}\"",
            "set hostname=\"client.test\"",
            $"set from=\"{TlsAuthServerFixture.Alice}\"",
            "set use_from=yes",
            "set record=\"\"",
            $"set folder=\"{home}\"",
            $"set spoolfile=\"{home}/inbox\"",
            string.Empty));

        // Batch mode: standard input is not a terminal, so mutt sends the body it reads and exits. -d 5 writes the SMTP
        // dialogue (without the SASL payloads' meaning) to $HOME/.muttdebug0.
        var result = await ExternalProcess.RunAsync(
            "env",
            ["HOME=" + home, "mutt", "-d", "5", "-F", config, "-s", marker, "rcpt@example.com"],
            TimeSpan.FromSeconds(60),
            home,
            System.Text.Encoding.ASCII.GetBytes($"Body of {marker}\nsecond line\n"));
        var debug = File.Exists(Path.Combine(home, ".muttdebug0")) ? File.ReadAllText(Path.Combine(home, ".muttdebug0")) : "(no debug file)";
        var context = $"\n--- mutt (exit {result.ExitCode}) ---\n{result.Output}\n--- .muttdebug0 (last 60 lines) ---\n"
            + string.Join('\n', debug.Split('\n').TakeLast(60)) + Server.Diagnostics(60);
        Assert.True(result.ExitCode == 0, "mutt could not send" + context);

        // mutt chose SCRAM-SHA-256 by itself (-PLUS is not offered on TLS 1.3) and the server accepted it.
        Assert.Contains("250 AUTH SCRAM-SHA-256 PLAIN LOGIN", debug, StringComparison.Ordinal);
        Assert.Contains("smtp_auth_gsasl: using mech SCRAM-SHA-256\n", debug, StringComparison.Ordinal);
        Assert.Matches(@"(?m)> AUTH SCRAM-SHA-256\r?$", debug);
        Assert.Matches(@"(?m)< 235 2\.7\.0 Authentication successful\r?$", debug);

        var message = await Server.Mailbox("rcpt@example.com").WaitForMessageContainingAsync(marker, TimeSpan.FromSeconds(20));
        Assert.True(message is not null, $"{marker} not delivered\n{Server.Mailbox("rcpt@example.com").Describe()}{context}");
        var traced = message.SplitTrace();
        Assert.Equal($"Return-Path: <{TlsAuthServerFixture.Alice}>\r\n", traced.ReturnPath);
        Assert.Matches(@"\(using TLSv1\.3 with cipher TLS_[A-Z0-9_]+\)", traced.Received);
        Assert.Matches(@"\bby mx\.test with ESMTPSA id [0-9A-Za-z]+", traced.Received);
        Assert.Equal(marker, message.Header("Subject"));
        Assert.Contains($"\n\nBody of {marker}\nsecond line\n", message.Text.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
    }
}
