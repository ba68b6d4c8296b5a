using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Postbote.Delivery.Smtp;
using Postbote.Queue;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>Opportunistic STARTTLS (RFC 3207, RFC 7435) towards Python's ssl module as the server.</summary>
[Collection(RelayDnsCollection.Name)]
public sealed class StartTlsTests(RelayDnsFixture dns) : IDisposable
{
    private const string Body = "Subject: tls\r\n\r\nover TLS\r\n";
    private readonly string _dir = Directory.CreateTempSubdirectory("postbote-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A self-signed certificate (not checked: opportunistic TLS takes any).</summary>
    private (string Cert, string Key) Certificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=mx.one.relay.test", key, HashAlgorithmName.SHA256);
        using X509Certificate2 cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        string certFile = Path.Combine(_dir, "cert.pem"), keyFile = Path.Combine(_dir, "key.pem");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }

    [Fact]
    public async Task StartTlsWhenOfferedThenEhloAgainAndTheMessageOverTls()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(["127.0.0.31"], new JsonObject
        {
            ["default"] = new JsonObject { ["ehlo"] = "250-mx.one.relay.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n" },
        }, Certificate());
        using var message = new RelayTestMessage(Body, "bob@" + RelayDnsFixture.One);
        await using var agent = new SmtpDeliveryAgentTests(dns).Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        var events = await receiver.WaitForAsync(e => e.Any(x => x.TryGetProperty("cmd", out var c) && c.GetString() == "QUIT"));
        var tls = Assert.Single(events, e => e.TryGetProperty("event", out var v) && v.GetString() == "tls");
        Assert.StartsWith("TLSv1.", tls.GetProperty("version").GetString(), StringComparison.Ordinal);
        Assert.Equal(["EHLO", "STAR", "EHLO", "MAIL", "RCPT", "DATA", "QUIT"], receiver.Commands().Select(c => c[..4]));
        // Everything from the second EHLO on went over TLS: the tls event comes before it.
        int tlsAt = events.IndexOf(tls);
        Assert.True(events.FindIndex(e => e.TryGetProperty("cmd", out var c) && c.GetString()!.StartsWith("MAIL", StringComparison.Ordinal)) > tlsAt);
        Assert.Equal(message.DotStuffed(), Assert.Single(receiver.Messages()));
    }

    [Fact]
    public async Task FailedTlsHandshakeTriesTheNextMx()
    {
        await using var receiver = await ScriptedReceiver.StartAsync(["127.0.0.32", "127.0.0.33"], new JsonObject
        {
            ["127.0.0.32"] = new JsonObject { ["ehlo"] = "250-mx1.greet.relay.test\r\n250 STARTTLS\r\n", ["tls_broken"] = true },
        });
        using var message = new RelayTestMessage(Body, "bob@" + RelayDnsFixture.Greet);
        await using var agent = new SmtpDeliveryAgentTests(dns).Agent(receiver.Port);

        RecipientResult result = Assert.Single(await agent.DeliverAsync(message.Request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal($"mx2.greet.relay.test[127.0.0.33]:{receiver.Port}", result.RemoteHost);
        Assert.DoesNotContain(receiver.Events(), e => e.GetProperty("host").GetString() == "127.0.0.32"
            && e.TryGetProperty("cmd", out var c) && c.GetString()!.StartsWith("MAIL", StringComparison.Ordinal));
    }
}
