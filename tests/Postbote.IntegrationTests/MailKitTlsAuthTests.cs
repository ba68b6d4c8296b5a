using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Postbote.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Postbote.IntegrationTests;

/// <summary>
/// MailKit over STARTTLS (submission) and implicit TLS (submissions), the server certificate checked against the test CA,
/// authenticating with SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-256-PLUS with channel binding (RFC 5802 §6, RFC 5929), on a
/// server that offers -PLUS on TLS 1.3 too ([auth] scram_plus_tls13).
/// </summary>
public sealed class MailKitTlsAuthTests(ScramPlusTls13ServerFixture fixture, ITestOutputHelper output) : IClassFixture<ScramPlusTls13ServerFixture>
{
    private PostboteServer Server => fixture.Server;

    [Theory]
    [InlineData("submission", "SCRAM-SHA-256", SslProtocols.None)]
    [InlineData("submission", "SCRAM-SHA-256-PLUS", SslProtocols.None)]
    [InlineData("submission", "SCRAM-SHA-256-PLUS", SslProtocols.Tls12)]
    [InlineData("submissions", "SCRAM-SHA-256", SslProtocols.None)]
    [InlineData("submissions", "SCRAM-SHA-256-PLUS", SslProtocols.None)]
    [InlineData("submissions", "SCRAM-SHA-256-PLUS", SslProtocols.Tls12)]
    public async Task ScramAuthenticatesOverVerifiedTlsAndDelivers(string listener, string mechanismName, SslProtocols protocols)
    {
        var marker = SmtpDialog.NewMarker($"mailkit-{listener}-{mechanismName}");
        var logger = new CapturingProtocolLogger();
        var failures = new List<string>();
        var chainsChecked = 0;
        using var client = new SmtpClient(logger);
        if (protocols != SslProtocols.None)
        {
            client.SslProtocols = protocols;
        }

        var validate = fixture.Authority.Validator(SmtpConnection.ServerName, failures);
        client.ServerCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            Interlocked.Increment(ref chainsChecked);
            return validate(sender, certificate, chain, errors);
        };
        await ConnectAsync(client, listener);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(1, chainsChecked);
        Assert.True(client.IsSecure);
        Assert.Equal(protocols == SslProtocols.None ? SslProtocols.Tls13 : protocols, client.SslProtocol);
        Assert.Contains("SCRAM-SHA-256-PLUS", client.AuthenticationMechanisms);
        Assert.Contains("SCRAM-SHA-256", client.AuthenticationMechanisms);

        SaslMechanismScramBase mechanism = mechanismName == "SCRAM-SHA-256-PLUS"
            ? new SaslMechanismScramSha256Plus(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword)
            : new SaslMechanismScramSha256(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        try
        {
            await client.AuthenticateAsync(mechanism);
        }
        catch (MailKit.Security.AuthenticationException e)
        {
            Assert.Fail($"{mechanismName} over {client.SslProtocol} failed: {e.Message}{Context(logger)}{Server.Diagnostics(40)}");
        }

        var gs2 = Gs2Header(logger, mechanismName);
        output.WriteLine($"{listener} {client.SslProtocol} {client.SslCipherSuite}: {mechanismName}, GS2 header '{gs2}', channel binding negotiated: {mechanism.NegotiatedChannelBinding}");
        Assert.Matches(@"(?m)^235 2\.7\.0 ", logger.ServerText);
        if (mechanismName.EndsWith("-PLUS", StringComparison.Ordinal))
        {
            // "p=" names the binding the client used: tls-server-end-point, or tls-unique (TLS 1.2 only).
            Assert.True(mechanism.NegotiatedChannelBinding, $"no channel binding negotiated{Context(logger)}");
            Assert.Matches(client.SslProtocol == SslProtocols.Tls13 ? "^p=tls-(server-end-point|exporter)," : "^p=tls-(server-end-point|unique),", gs2);
        }
        else
        {
            // "n": no channel binding (a "y" would claim the server offers no -PLUS, RFC 5802 §6).
            Assert.StartsWith("n,,", gs2, StringComparison.Ordinal);
        }

        var protocol = client.SslProtocol;
        var response = await client.SendAsync(CreateMessage(marker));
        await client.DisconnectAsync(true);
        Assert.StartsWith("2.0.0 Ok: queued as ", response, StringComparison.Ordinal);
        var payload = Assert.Single(logger.MessagePayloads());
        var traced = await DeliveryAssert.DeliveredOnceAsync(
            Server, "rcpt@example.com", marker, payload, TlsAuthServerFixture.Alice, SmtpDialog.QueueId(response), Context(logger));
        Assert.Contains(" with ESMTPSA id ", traced.Received, StringComparison.Ordinal);
        Assert.Contains($"(using {(protocol == SslProtocols.Tls13 ? "TLSv1.3" : "TLSv1.2")} with cipher ", traced.Received, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SCRAM-SHA-256")]
    [InlineData("SCRAM-SHA-256-PLUS")]
    public async Task ScramWithWrongPasswordGets535(string mechanismName)
    {
        var logger = new CapturingProtocolLogger();
        using var client = new SmtpClient(logger);
        var failures = new List<string>();
        client.ServerCertificateValidationCallback = fixture.Authority.Validator(SmtpConnection.ServerName, failures);
        await ConnectAsync(client, "submissions");
        SaslMechanism mechanism = mechanismName == "SCRAM-SHA-256-PLUS"
            ? new SaslMechanismScramSha256Plus(TlsAuthServerFixture.Alice, "wrong")
            : new SaslMechanismScramSha256(TlsAuthServerFixture.Alice, "wrong");
        await Assert.ThrowsAsync<MailKit.Security.AuthenticationException>(() => client.AuthenticateAsync(mechanism));
        Assert.Matches(@"(?m)^535 5\.7\.8 ", logger.ServerText);
        Assert.DoesNotMatch(@"(?m)^235 ", logger.ServerText);
        Assert.False(client.IsAuthenticated);
    }

    /// <summary>
    /// MailKit connects over a socket we opened to 127.0.0.1, so the TLS server name (SNI and the name checked) is mx.test.
    /// </summary>
    private async Task ConnectAsync(SmtpClient client, string listener)
    {
        var (port, options) = listener == "submissions"
            ? (Server.SubmissionsPort, SecureSocketOptions.SslOnConnect)
            : (Server.SubmissionPort, SecureSocketOptions.StartTls);
        client.Timeout = 30_000;
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await client.ConnectAsync(socket, SmtpConnection.ServerName, port, options);
    }

    private static string Gs2Header(CapturingProtocolLogger logger, string mechanismName)
    {
        // The client-first message goes as the initial response (AUTH NAME b64) or as the answer to "334 ".
        var lines = Encoding.ASCII.GetString(logger.ClientBytes).Split("\r\n");
        var auth = Array.FindIndex(lines, l => l.StartsWith($"AUTH {mechanismName}", StringComparison.Ordinal));
        Assert.True(auth >= 0, $"no AUTH {mechanismName} sent{Context(logger)}");
        var parts = lines[auth].Split(' ');
        var first = parts.Length > 2 ? parts[2] : lines[auth + 1];
        return Encoding.UTF8.GetString(Convert.FromBase64String(first));
    }

    private static MimeMessage CreateMessage(string marker)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Alice", TlsAuthServerFixture.Alice));
        message.To.Add(MailboxAddress.Parse("rcpt@example.com"));
        message.Subject = marker;
        message.MessageId = $"{marker}@client.test";
        message.Body = new TextPart("plain") { Text = $"body of {marker}\r\n" };
        return message;
    }

    private static string Context(CapturingProtocolLogger logger) =>
        $"\n--- MailKit ---\nC: {Transcript.Escape(logger.ClientBytes, 3000)}\nS: {logger.ServerText}";
}
