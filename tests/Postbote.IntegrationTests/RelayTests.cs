using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;
using Postbote.Testing.Dns;

namespace Postbote.IntegrationTests;

/// <summary>nsd with the zone of the relaying test: <c>one.relay.test</c> has MX 10 <c>mx.one.relay.test</c>, A 127.0.0.41.</summary>
public sealed class RelayZonesFixture : DnsServerFixture
{
    protected override IReadOnlyList<TestZone> Zones { get; } =
    [
        new("relay.test", """
            $ORIGIN relay.test.
            $TTL 300
            @        IN SOA ns.relay.test. hostmaster.relay.test. 1 3600 600 86400 60
            @        IN NS  ns
            ns       IN A   127.0.0.1
            one      IN MX  10 mx.one
            mx.one   IN A   127.0.0.41

            """),
    ];
}

/// <summary>The built server relays: swaks hands it a message for another domain, it finds the MX on nsd and
/// delivers to aiosmtpd listening on that MX's loopback address, on the port of <c>[relay] port</c>.</summary>
public sealed class RelayTests(RelayZonesFixture dns) : IClassFixture<RelayZonesFixture>
{
    [Fact]
    public async Task MailForAnotherDomainArrivesAtItsMxAsReceivedWithOurReceivedHeaderFirst()
    {
        string dir = Directory.CreateTempSubdirectory("postbote-relay-it-").FullName;
        string capture = Path.Combine(dir, "capture.jsonl");
        using var receiver = await ScriptPeer.StartAsync("aiosmtpd_receiver.py", "127.0.0.41", capture);
        int port = receiver.Port;
        try
        {
            var options = new ServerOptions
            {
                TrustedNetworks = ["127.0.0.0/8"],
                DnsServers = [$"127.0.0.1:{dns.EndPoint.Port}"],
                RelayPort = port,
            };
            await using var server = await PostboteServer.StartNewAsync(options, "relay");
            var marker = SmtpDialog.NewMarker("relay");
            byte[] message = Encoding.ASCII.GetBytes(
                $"From: <a@example.org>\r\nTo: <bob@one.relay.test>\r\nSubject: {marker}\r\n\r\nfirst line\r\n.a line that starts with a dot\r\nlast line\r\n");
            string file = Path.Combine(dir, "message.eml");
            await File.WriteAllBytesAsync(file, message[..^2]); // swaks ends the --data file with CRLF itself
            var result = await ExternalProcess.RunAsync("swaks",
                ["--server", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture), "--helo", "client.test",
                 "--from", "a@example.org", "--to", "bob@one.relay.test", "--data", "@" + file, "--timeout", "30"],
                TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0, result.Output + server.Diagnostics());

            JsonElement received = await WaitForMessageAsync(capture, TimeSpan.FromSeconds(30))
                ?? throw new Xunit.Sdk.XunitException("aiosmtpd received nothing" + server.Diagnostics());
            Assert.Equal("mx.test", received.GetProperty("helo").GetString());
            Assert.Equal("a@example.org", received.GetProperty("mail_from").GetString());
            Assert.Equal(["bob@one.relay.test"], received.GetProperty("rcpt_tos").EnumerateArray().Select(e => e.GetString()));
            string content = Encoding.ASCII.GetString(Convert.FromBase64String(received.GetProperty("content").GetString()!));
            // The relayed bytes: our Received header (its folded lines), then exactly the bytes swaks sent.
            Match header = Regex.Match(content, @"\AReceived: from client\.test \(.*?\r\n(?![ \t])", RegexOptions.Singleline);
            Assert.True(header.Success, content);
            Assert.Equal(Encoding.ASCII.GetString(message), content[header.Length..]);
            Assert.True(await server.WaitForLogAsync($"to=<bob@one.relay.test> relay=mx.one.relay.test[127.0.0.41]:{port}", 1, TimeSpan.FromSeconds(10)),
                server.Diagnostics());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<JsonElement?> WaitForMessageAsync(string capture, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(capture) && (await File.ReadAllLinesAsync(capture)) is [var first, ..])
                return JsonDocument.Parse(first).RootElement.Clone();
            await Task.Delay(100);
        }
        return null;
    }
}
