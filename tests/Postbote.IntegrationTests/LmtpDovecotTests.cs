using System.Globalization;
using System.Text;
using Postbote.IntegrationTests.Infrastructure;
using Postbote.Testing.Dovecot;

namespace Postbote.IntegrationTests;

/// <summary>
/// Final delivery to Dovecot over LMTP (RFC 2033), the pairing of docs/dovecot.md: a local domain with a
/// <c>[relay.transports]</c> entry <c>lmtp:unix:/path</c> or <c>lmtp:[host]:port</c> goes to Dovecot's LMTP server
/// (Debian's dovecot-lmtpd, started by the test in a temp directory), not into Postbote's own Maildir, and
/// <c>doveadm</c> finds it.
/// </summary>
public sealed class LmtpDovecotTests
{
    [Fact]
    public async Task LocalDomainsWithAnLmtpTransportAreDeliveredToDovecotOverItsSocketAndItsPort()
    {
        await using var dovecot = await DovecotServer.StartAsync();
        var options = new ServerOptions
        {
            TrustedNetworks = ["127.0.0.0/8"],
            LocalDomains = ["example.com", "tcp.example"],
            Mailboxes = ["alice@example.com", "bob@example.com", "dave@tcp.example"],
            Transports = new Dictionary<string, string>
            {
                ["example.com"] = "lmtp:unix:" + dovecot.LmtpSocketPath,
                ["tcp.example"] = $"lmtp:[127.0.0.1]:{dovecot.LmtpEndPoint.Port}",
            },
        };
        await using var server = await PostboteServer.StartNewAsync(options, "lmtp");
        string dir = Directory.CreateTempSubdirectory("postbote-lmtp-it-").FullName;
        try
        {
            string messageId = SmtpDialog.NewMarker("lmtp") + "@client.test";
            byte[] message = Encoding.ASCII.GetBytes(
                $"From: <a@example.org>\r\nTo: <alice@example.com>\r\nMessage-ID: <{messageId}>\r\nSubject: over lmtp\r\n\r\nfirst line\r\n.dot line\r\nlast line\r\n");
            string file = Path.Combine(dir, "message.eml");
            await File.WriteAllBytesAsync(file, message[..^2]); // swaks ends the --data file with CRLF itself
            var result = await ExternalProcess.RunAsync("swaks",
                ["--server", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture), "--helo", "client.test",
                 "--from", "a@example.org", "--to", "alice@example.com,bob@example.com,dave@tcp.example", "--data", "@" + file, "--timeout", "30"],
                TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0, result.Output + server.Diagnostics());

            foreach (string user in new[] { "alice@example.com", "bob@example.com", "dave@tcp.example" })
            {
                Assert.True(await WaitAsync(() => dovecot.SearchMessageIdAsync(user, messageId), TimeSpan.FromSeconds(30)),
                    $"doveadm finds no message for {user}\n{dovecot.Log}{server.Diagnostics()}");
                string stored = File.ReadAllText(Assert.Single(dovecot.MessageFiles(user)));
                // Dovecot stores LF line ends and puts the reverse-path first as Return-Path (RFC 2033 §4.2: it is the
                // final delivery); then comes our Received header and the message exactly as sent.
                string sent = Encoding.ASCII.GetString(message).Replace("\r\n", "\n", StringComparison.Ordinal);
                Assert.True(stored.StartsWith("Return-Path: <a@example.org>\n", StringComparison.Ordinal), stored);
                Assert.True(stored.EndsWith("\n" + sent, StringComparison.Ordinal), stored);
                Assert.Equal(1, CountOf("\nReceived: from client.test", stored));
            }
            // Nothing went into Postbote's own Maildirs.
            Assert.False(Directory.Exists(Path.Combine(server.MaildirRoot, "example.com", "alice")), "a Maildir copy was written as well");
            Assert.True(await server.WaitForLogAsync("to=<dave@tcp.example>", 1, TimeSpan.FromSeconds(10)), server.Diagnostics());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static int CountOf(string part, string text)
    {
        int n = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    private static async Task<bool> WaitAsync(Func<Task<int>> count, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await count() == 1) return true;
            }
            catch (InvalidOperationException)
            {
                // doveadm fails while the user's mailbox does not exist yet.
            }
            await Task.Delay(200);
        }
        return false;
    }
}
