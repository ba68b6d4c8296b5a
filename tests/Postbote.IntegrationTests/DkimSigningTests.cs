using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;
using Postbote.Testing.Dkim;
using Postbote.Testing.Dns;

namespace Postbote.IntegrationTests;

/// <summary>
/// The built server signs what it relays: keys made with <c>postbote dkim keygen</c> (RSA and Ed25519), their printed
/// TXT records served by nsd on loopback, <c>[[dkim.sign]]</c> with the default key paths; the message arrives at a real
/// receiver (aiosmtpd, Postfix) with two signatures that dkimpy verifies. Forwarded mail (a local alias to another
/// domain) arrives sealed with ARC, and dkimpy's arc_verify passes it.
/// </summary>
public sealed class DkimSigningTests
{
    private const string RelayZone = """
        one      IN MX  10 mx.one
        mx.one   IN A   127.0.0.41

        """;

    /// <summary>Runs keygen for example.com with selectors <c>rsa</c> and <c>ed</c> on the server's configuration and
    /// starts nsd with the records it printed and the relay.test zone.</summary>
    private static async Task<NsdServer> KeysAndDnsAsync(PostboteServer server)
    {
        server.WriteConfiguration();
        var records = new List<string>();
        foreach (var (selector, algorithm) in new[] { ("rsa", "rsa"), ("ed", "ed25519") })
        {
            await RepoLayout.EnsureServerBuiltAsync();
            var r = await ExternalProcess.RunAsync("dotnet",
                [RepoLayout.ServerDll, "--config", server.ConfigPath, "dkim", "keygen", "--domain", "example.com", "--selector", selector, "--algorithm", algorithm],
                TimeSpan.FromSeconds(60), server.TempDir);
            Assert.True(r.ExitCode == 0, r.Output);
            records.Add(r.StandardOutput.Trim());
        }
        return await NsdServer.StartAsync(
        [
            new("example.com", "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n"
                + string.Join('\n', records) + "\n"),
            new("relay.test", "$ORIGIN relay.test.\n$TTL 300\n@ IN SOA ns.relay.test. hostmaster.relay.test. 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n" + RelayZone),
        ]);
    }

    private const string SignBothKeys = """
        [[dkim.sign]]
        domain = "example.com"
        selector = "rsa"

        [[dkim.sign]]
        domain = "example.com"
        selector = "ed"
        """;

    private static async Task SendAsync(PostboteServer server, string dir, string from, string to, byte[] message)
    {
        string file = Path.Combine(dir, "message.eml");
        await File.WriteAllBytesAsync(file, message[..^2]); // swaks ends the --data file with CRLF itself
        var result = await ExternalProcess.RunAsync("swaks",
            ["--server", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture), "--helo", "client.test",
             "--from", from, "--to", to, "--data", "@" + file, "--timeout", "60"],
            TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, result.Output + server.Diagnostics());
    }

    private static byte[] Message(string from, string to, string subject, string body) => Encoding.ASCII.GetBytes(
        $"From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <{subject}@test>\r\n\r\n{body}");

    [Fact]
    public async Task RelayedMegabyteMessageArrivesAtAiosmtpdWithBothSignaturesValid()
    {
        string dir = Directory.CreateTempSubdirectory("postbote-dkim-it-").FullName;
        string capture = Path.Combine(dir, "capture.jsonl");
        using var receiver = await ScriptPeer.StartAsync("aiosmtpd_receiver.py", "127.0.0.41", capture);
        var options = new ServerOptions
        {
            TrustedNetworks = ["127.0.0.0/8"],
            RelayPort = receiver.Port,
            MessageSize = 4 * 1024 * 1024,
            ExtraToml = SignBothKeys,
        };
        await using var server = new PostboteServer(options, "dkim-relay");
        await using NsdServer nsd = await KeysAndDnsAsync(server);
        try
        {
            options.DnsServers = [$"127.0.0.1:{nsd.EndPoint.Port}"];
            server.WriteConfiguration();
            await server.StartAsync();
            // 1 MiB of body: over the 256 KiB kept in memory, so it is stored in its own file and signed from there.
            var body = new StringBuilder();
            for (int i = 0; body.Length < 1024 * 1024; i++) body.Append(CultureInfo.InvariantCulture, $"line {i:D7} with  some   spaces  \r\n");
            string marker = SmtpDialog.NewMarker("dkim");
            byte[] message = Message("alice@example.com", "bob@one.relay.test", marker, body.ToString());
            await SendAsync(server, dir, "alice@example.com", "bob@one.relay.test", message);

            JsonElement received = await WaitForMessageAsync(capture, TimeSpan.FromSeconds(60))
                ?? throw new Xunit.Sdk.XunitException("aiosmtpd received nothing" + server.Diagnostics());
            byte[] content = Convert.FromBase64String(received.GetProperty("content").GetString()!);
            string text = Encoding.ASCII.GetString(content);
            Assert.StartsWith("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa;", text, StringComparison.Ordinal);
            // SIZE= counts the signature fields (RFC 1870: the size of the message as sent).
            Assert.Contains($"SIZE={content.Length}", received.GetProperty("mail_options").EnumerateArray().Select(e => e.GetString()));
            // The stored message follows the signatures unchanged.
            Assert.EndsWith(Encoding.ASCII.GetString(message), text, StringComparison.Ordinal);

            IReadOnlyList<DkimPy.Signature> sigs = await DkimPy.VerifyAsync(content, nsd.EndPoint);
            Assert.Equal([("rsa-sha256", true), ("ed25519-sha256", true)], sigs.Select(s => (s.Algorithm, s.Pass)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task RelayedMessageArrivesAtPostfixWithValidSignatures()
    {
        string dir = Directory.CreateTempSubdirectory("postbote-dkim-pf-").FullName;
        await using PostfixReceiver postfix = await PostfixReceiver.StartAsync("127.0.0.1", "pf.test");
        var options = new ServerOptions
        {
            TrustedNetworks = ["127.0.0.0/8"],
            Transports = new Dictionary<string, string> { ["pf.test"] = $"smtp:[127.0.0.1]:{postfix.EndPoint.Port}" },
            ExtraToml = SignBothKeys,
        };
        await using var server = new PostboteServer(options, "dkim-postfix");
        await using NsdServer nsd = await KeysAndDnsAsync(server);
        try
        {
            options.DnsServers = [$"127.0.0.1:{nsd.EndPoint.Port}"];
            server.WriteConfiguration();
            await server.StartAsync();
            string marker = SmtpDialog.NewMarker("dkimpf");
            await SendAsync(server, dir, "alice@example.com", "sink@pf.test",
                Message("alice@example.com", "sink@pf.test", marker, "to Postfix\r\n\r\n"));

            string? file = null;
            for (var deadline = DateTime.UtcNow.AddSeconds(60); file is null && DateTime.UtcNow < deadline; await Task.Delay(200))
                file = postfix.Delivered.FirstOrDefault(f => File.ReadAllText(f).Contains(marker, StringComparison.Ordinal));
            Assert.True(file is not null, "Postfix delivered nothing" + server.Diagnostics());
            // Postfix stores LF line ends and its own Return-Path, Delivered-To and Received above ours; dkimpy reads both.
            IReadOnlyList<DkimPy.Signature> sigs = await DkimPy.VerifyAsync(await File.ReadAllBytesAsync(file), nsd.EndPoint);
            Assert.Equal([("rsa-sha256", true), ("ed25519-sha256", true)], sigs.Select(s => (s.Algorithm, s.Pass)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ForwardedMessageArrivesSealedAndPassesDkimpyArcVerify()
    {
        string dir = Directory.CreateTempSubdirectory("postbote-arc-it-").FullName;
        string capture = Path.Combine(dir, "capture.jsonl");
        using var receiver = await ScriptPeer.StartAsync("aiosmtpd_receiver.py", "127.0.0.41", capture);
        var options = new ServerOptions
        {
            // The client is checked (not trusted), so "ARC verify" records its result.
            TrustedNetworks = [],
            RelayPort = receiver.Port,
            Aliases = new Dictionary<string, string[]> { ["fwd@example.com"] = ["bob@one.relay.test"] },
            ExtraToml = SignBothKeys,
            LogLevel = "debug", // "arc=none" is logged at debug level
        };
        await using var server = new PostboteServer(options, "arc-forward");
        await using NsdServer nsd = await KeysAndDnsAsync(server);
        try
        {
            options.DnsServers = [$"127.0.0.1:{nsd.EndPoint.Port}"];
            server.WriteConfiguration();
            await server.StartAsync();
            string marker = SmtpDialog.NewMarker("arc");
            byte[] message = Message("carol@other.test", "fwd@example.com", marker, "forward me\r\n");
            await SendAsync(server, dir, "carol@other.test", "fwd@example.com", message);

            JsonElement received = await WaitForMessageAsync(capture, TimeSpan.FromSeconds(60))
                ?? throw new Xunit.Sdk.XunitException("aiosmtpd received nothing" + server.Diagnostics());
            Assert.Equal(["bob@one.relay.test"], received.GetProperty("rcpt_tos").EnumerateArray().Select(e => e.GetString()));
            byte[] content = Convert.FromBase64String(received.GetProperty("content").GetString()!);
            string text = Encoding.ASCII.GetString(content);
            // Sealed with the forwarding domain's RSA key; not DKIM-signed (the author's domain is not ours).
            Assert.StartsWith("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.com; s=rsa;", text, StringComparison.Ordinal);
            Assert.DoesNotContain("DKIM-Signature:", text, StringComparison.Ordinal);
            Assert.Matches(new Regex(@"\r\nARC-Authentication-Results: i=1; mx\.test"), text);
            DkimPy.ArcVerdict verdict = await DkimPy.ArcVerifyAsync(content, nsd.EndPoint);
            Assert.True(("pass", 1) == (verdict.Cv, verdict.Instances), verdict.Reason);
            Assert.True(await server.WaitForLogAsync(": arc=none", 1, TimeSpan.FromSeconds(5)), server.Diagnostics());
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
