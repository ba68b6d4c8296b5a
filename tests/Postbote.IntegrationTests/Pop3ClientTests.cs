using System.Globalization;
using System.Security.Authentication;
using MailKit.Net.Pop3;
using MailKit.Security;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>Real POP3 clients download mail that Postbote delivered, and get exactly the delivered octets (the message
/// sent plus the trace fields Postbote adds): Python's poplib (USER/PASS over STLS, and POP3_SSL), MailKit's Pop3Client
/// (STLS, SSL on connect, SASL SCRAM-SHA-256 and -PLUS) and Debian's fetchmail.</summary>
public sealed class Pop3ClientTests(Pop3ServerFixture fixture) : IClassFixture<Pop3ServerFixture>
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Scripts", "poplib_fetch.py");

    private PostboteServer Server => fixture.Server;

    [Theory]
    [InlineData("stls", 1)]
    [InlineData("ssl", 2)]
    public async Task PoplibDownloadsTheDeliveredBytes(string mode, int userIndex)
    {
        string user = Pop3ServerFixture.User(userIndex);
        var delivered = await fixture.DeliverAsync(user, SmtpDialog.SampleMessage(SmtpDialog.NewMarker("poplib-" + mode)),
            SmtpDialog.SampleMessage(SmtpDialog.NewMarker("poplib2-" + mode)));
        string outDir = Directory.CreateTempSubdirectory("postbote-poplib-").FullName;
        try
        {
            int port = mode == "ssl" ? Server.Pop3TlsPort : Server.Pop3Port;
            var result = await ExternalProcess.RunAsync("python3",
                [Script, mode, port.ToString(CultureInfo.InvariantCulture), user, Pop3ServerFixture.Password, outDir, "dele"], TimeSpan.FromSeconds(60));
            string context = $"\n--- poplib (exit {result.ExitCode}) ---\n{result.Output}{Server.Diagnostics()}";
            Assert.True(result.ExitCode == 0, context);
            for (int i = 0; i < delivered.Count; i++)
            {
                string name = Path.GetFileName(delivered[i].FilePath);
                Assert.Contains($"LIST {i + 1} {delivered[i].Raw.Length}\n", result.StandardOutput, StringComparison.Ordinal);
                Assert.Contains($"UIDL {i + 1} {name}\n", result.StandardOutput, StringComparison.Ordinal);
                Assert.Contains($"RETR {i + 1} {delivered[i].Raw.Length}\n", result.StandardOutput, StringComparison.Ordinal);
                Assert.Equal(delivered[i].Raw, await File.ReadAllBytesAsync(Path.Combine(outDir, $"{i + 1}.eml")));
            }

            Assert.Contains("quit +OK Bye, 2 messages deleted", result.StandardOutput, StringComparison.Ordinal);
            Assert.Equal(0, Server.Mailbox(user).Count());
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    [Theory]
    [InlineData(3, SecureSocketOptions.StartTls, "SCRAM-SHA-256", SslProtocols.None)]
    [InlineData(4, SecureSocketOptions.SslOnConnect, "SCRAM-SHA-256", SslProtocols.None)]
    [InlineData(5, SecureSocketOptions.SslOnConnect, "SCRAM-SHA-256-PLUS", SslProtocols.Tls12)]
    [InlineData(6, SecureSocketOptions.StartTls, "SCRAM-SHA-256-PLUS", SslProtocols.Tls12)]
    [InlineData(7, SecureSocketOptions.StartTls, "PLAIN", SslProtocols.None)]
    public async Task MailKitAuthenticatesWithSaslAndDownloadsTheDeliveredBytes(int userIndex, SecureSocketOptions tls, string mechanismName, SslProtocols protocols)
    {
        string user = Pop3ServerFixture.User(userIndex);
        var delivered = await fixture.DeliverAsync(user, SmtpDialog.SampleMessage(SmtpDialog.NewMarker("mailkit")));
        using var client = new Pop3Client();
        client.ServerCertificateValidationCallback = (_, _, _, _) => true;
        if (protocols != SslProtocols.None)
        {
            client.SslProtocols = protocols;
        }

        await client.ConnectAsync("127.0.0.1", tls == SecureSocketOptions.SslOnConnect ? Server.Pop3TlsPort : Server.Pop3Port, tls);
        Assert.True(client.IsSecure);
        Assert.Contains(mechanismName, client.AuthenticationMechanisms);
        SaslMechanism mechanism = mechanismName switch
        {
            "SCRAM-SHA-256-PLUS" => new SaslMechanismScramSha256Plus(user, Pop3ServerFixture.Password),
            "SCRAM-SHA-256" => new SaslMechanismScramSha256(user, Pop3ServerFixture.Password),
            _ => new SaslMechanismPlain(user, Pop3ServerFixture.Password),
        };
        await client.AuthenticateAsync(mechanism);
        Assert.True(client.IsAuthenticated, Server.Diagnostics());
        Assert.True(mechanism.IsAuthenticated);
        Assert.Equal(1, client.Count);
        Assert.Equal(delivered[0].Raw.Length, await client.GetMessageSizeAsync(0));
        Assert.Equal(Path.GetFileName(delivered[0].FilePath), await client.GetMessageUidAsync(0));
        using var stream = await client.GetStreamAsync(0);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(delivered[0].Raw, copy.ToArray());
        await client.DisconnectAsync(quit: true);
    }

    [Fact]
    public async Task MailKitWithAWrongPasswordGetsTheAuthResponseCode()
    {
        using var client = new Pop3Client();
        client.ServerCertificateValidationCallback = (_, _, _, _) => true;
        await client.ConnectAsync("127.0.0.1", Server.Pop3TlsPort, SecureSocketOptions.SslOnConnect);
        var e = await Assert.ThrowsAsync<MailKit.Security.AuthenticationException>(() =>
            client.AuthenticateAsync(new SaslMechanismScramSha256(Pop3ServerFixture.User(8), "wrong")));
        Assert.Contains("Authentication failed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchmailDownloadsIntoAFileAndDeletesOnTheServer()
    {
        string user = Pop3ServerFixture.User(9);
        var delivered = await fixture.DeliverAsync(user, SmtpDialog.SampleMessage(SmtpDialog.NewMarker("fetchmail1")),
            SmtpDialog.SampleMessage(SmtpDialog.NewMarker("fetchmail2")));
        byte[][] stored = delivered.Select(m => File.ReadAllBytes(m.FilePath)).ToArray(); // LF line ends, as fetchmail hands them on
        string dir = Directory.CreateTempSubdirectory("postbote-fetchmail-").FullName;
        try
        {
            string mbox = Path.Combine(dir, "inbox");
            string rc = Path.Combine(dir, "fetchmailrc");
            await File.WriteAllTextAsync(rc, string.Create(CultureInfo.InvariantCulture,
                $"poll 127.0.0.1 service {Server.Pop3TlsPort} protocol pop3 auth password\n" +
                $"  user \"{user}\" there with password \"{Pop3ServerFixture.Password}\" is root here\n" +
                $"  ssl no sslcertck mda \"/bin/sh -c 'cat >> {mbox}'\"\n"));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(rc, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            var result = await ExternalProcess.RunAsync("fetchmail",
                ["-f", rc, "-v", "--nosyslog", "--invisible", "--nokeep", "--pidfile", Path.Combine(dir, "pid")], TimeSpan.FromSeconds(90), dir);
            string context = $"\n--- fetchmail (exit {result.ExitCode}) ---\n{result.Output}{Server.Diagnostics()}";
            Assert.True(result.ExitCode == 0, context);
            byte[] got = await File.ReadAllBytesAsync(mbox);
            Assert.True(got.AsSpan().SequenceEqual(stored[0].Concat(stored[1]).ToArray()),
                $"fetchmail wrote {got.Length} octets, expected the {stored[0].Length} + {stored[1].Length} stored{context}");
            Assert.Equal(0, Server.Mailbox(user).Count());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
