using System.Text;
using Postbote.IntegrationTests.Infrastructure;
using Postbote.Testing.Dns;

namespace Postbote.IntegrationTests;

/// <summary>The zone <c>auth.test</c> for SPF, DKIM and DMARC over real TCP: keys made by dkimpy's <c>dknewkey</c>
/// (RSA and Ed25519) published at <c>rsa._domainkey.signed.auth.test</c> and <c>ed._domainkey.signed.auth.test</c>.</summary>
public sealed class AuthZonesFixture : IAsyncLifetime
{
    private NsdServer? _server;

    /// <summary>The directory with the private keys (rsa.key, ed.key).</summary>
    public string KeyDir { get; } = Directory.CreateTempSubdirectory("postbote-dkim-").FullName;

    /// <summary>nsd's address.</summary>
    public string DnsServer => $"127.0.0.1:{_server!.EndPoint.Port}";

    public async Task InitializeAsync()
    {
        foreach (var (name, type) in new[] { ("rsa", "rsa"), ("ed", "ed25519") })
        {
            var r = await ExternalProcess.RunAsync("/usr/bin/dknewkey", ["--ktype", type, name], TimeSpan.FromSeconds(60), KeyDir);
            Assert.True(r.ExitCode == 0, r.Output);
        }
        string Txt(string text) => string.Join(' ', text.Chunk(200).Select(c => "\"" + new string(c) + "\""));
        string rsa = File.ReadAllText(Path.Combine(KeyDir, "rsa.dns")).Trim(), ed = File.ReadAllText(Path.Combine(KeyDir, "ed.dns")).Trim();
        string zone = $$"""
            $ORIGIN auth.test.
            $TTL 300
            @                 IN SOA ns.auth.test. hostmaster.auth.test. 1 3600 600 86400 60
            @                 IN NS  ns
            ns                IN A   127.0.0.1
            _dmarc            IN TXT "v=DMARC1; p=none; sp=reject"
            pass              IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
            _dmarc.pass       IN TXT "v=DMARC1; p=reject"
            fail              IN TXT "v=spf1 -all exp=why.fail.auth.test"
            why.fail          IN TXT "%{i} may not send mail for %{d}"
            _dmarc.fail       IN TXT "v=DMARC1; p=none"
            _dmarc.signed     IN TXT "v=DMARC1; p=reject"
            rsa._domainkey.signed IN TXT {{Txt(rsa)}}
            ed._domainkey.signed  IN TXT {{Txt(ed)}}
            _dmarc.reject     IN TXT "v=DMARC1; p=reject"
            _dmarc.quarantine IN TXT "v=DMARC1; p=quarantine"
            _dmarc.sampled    IN TXT "v=DMARC1; p=reject; pct=0"
            """;
        string other = """
            $ORIGIN other.test.
            $TTL 300
            @   IN SOA ns.other.test. hostmaster.other.test. 1 3600 600 86400 60
            @   IN NS  ns.auth.test.
            @   IN TXT "v=spf1 ?all"
            """;
        _server = await NsdServer.StartAsync([new TestZone("auth.test", zone), new TestZone("other.test", other)]);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        Directory.Delete(KeyDir, recursive: true);
    }
}

/// <summary>
/// SPF at MAIL, DKIM verification of messages dkimpy signed, DMARC's tables and the Authentication-Results field, on the
/// built server over real TCP, resolving through nsd on loopback; the client is Python's smtplib bound to a
/// non-trusted 127.0.0.x address.
/// </summary>
public sealed class AuthenticationTests(AuthZonesFixture zones) : IClassFixture<AuthZonesFixture>
{
    private const string Client = """
        import smtplib, sys
        port, source, mailfrom, rcpt, path = sys.argv[1:6]
        s = smtplib.SMTP('127.0.0.1', int(port), local_hostname='client.auth.test', source_address=(source, 0), timeout=30)
        s.ehlo('client.auth.test')
        code, text = s.mail(mailfrom)
        print('MAIL %d %s' % (code, text.decode()))
        if code == 250:
            code, text = s.rcpt(rcpt)
            code, text = s.data(open(path, 'rb').read())
            print('DATA %d %s' % (code, text.decode()))
        s.quit()
        """;

    private async Task<PostboteServer> StartAsync(string? spfFailAction = null, string name = "auth") =>
        await PostboteServer.StartNewAsync(new ServerOptions
        {
            AuthenticationChecks = true,
            DnsServers = [zones.DnsServer],
            SpfFailAction = spfFailAction,
        }, name);

    private static async Task<string> SendAsync(PostboteServer server, string source, string mailFrom, byte[] message)
    {
        string dir = Directory.CreateTempSubdirectory("postbote-auth-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "client.py"), Client);
            File.WriteAllBytes(Path.Combine(dir, "message.eml"), message);
            var r = await ExternalProcess.RunAsync("/usr/bin/python3",
                [Path.Combine(dir, "client.py"), server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), source, mailFrom,
                    "rcpt@example.com", Path.Combine(dir, "message.eml")], TimeSpan.FromSeconds(60));
            Assert.True(r.ExitCode == 0, r.Output);
            return r.StandardOutput.Replace("\r", "", StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[] Message(string from, string marker, string extraHeaders = "") =>
        Encoding.ASCII.GetBytes($"{extraHeaders}From: <{from}>\r\nTo: <rcpt@example.com>\r\nSubject: {marker}\r\n\r\nbody of {marker}\r\n");

    private async Task<byte[]> SignAsync(byte[] message, string selector)
    {
        var args = new List<string>();
        if (selector == "ed") args.AddRange(["--signalg", "ed25519-sha256"]);
        args.AddRange([selector, "signed.auth.test", Path.Combine(zones.KeyDir, selector + ".key")]);
        var r = await ExternalProcess.RunAsync("/usr/bin/dkimsign", args, TimeSpan.FromSeconds(60), standardInput: message);
        Assert.True(r.ExitCode == 0, r.Output);
        // dkimsign writes LF line ends; SMTP carries CRLF (the canonical form DKIM signs, RFC 6376 §3.4).
        return Encoding.ASCII.GetBytes(r.StandardOutput.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal));
    }

    /// <summary>The Authentication-Results field of a delivered file, unfolded to one line per result.</summary>
    private static string AuthenticationResults(string file)
    {
        string text = ReadCrlf(file);
        int at = text.IndexOf("Authentication-Results: mx.test;", StringComparison.Ordinal);
        Assert.True(at >= 0, text);
        int end = text.IndexOf("\r\nReceived:", at, StringComparison.Ordinal);
        return text[at..end];
    }

    /// <summary>A delivered file with CRLF line ends (the Maildir keeps LF, as Postfix and Dovecot do).</summary>
    private static string ReadCrlf(string file) => File.ReadAllText(file).Replace("\n", "\r\n", StringComparison.Ordinal);

    private static async Task<string> DeliveredAsync(PostboteServer server, string marker, bool junk = false)
    {
        string dir = Path.Combine(server.MaildirRoot, "example.com", "rcpt", junk ? ".Junk" : "", "new");
        for (int i = 0; i < 200; i++)
        {
            if (Directory.Exists(dir))
                foreach (string f in Directory.GetFiles(dir))
                    if (File.ReadAllText(f).Contains(marker, StringComparison.Ordinal)) return f;
            await Task.Delay(50);
        }
        throw new TimeoutException($"no message {marker} in {dir}");
    }

    [Fact]
    public async Task SpfFailIsRefusedAtMailWith550_5_7_23AndTheExplanation()
    {
        await using var server = await StartAsync();
        string output = await SendAsync(server, "127.0.0.61", "a@fail.auth.test", Message("a@fail.auth.test", "spf-fail"));
        Assert.Equal("MAIL 550 5.7.23 127.0.0.61 may not send mail for fail.auth.test\n", output);
    }

    [Fact]
    public async Task SpfFailWithRecordIsAcceptedAndRecorded()
    {
        await using var server = await StartAsync(spfFailAction: "record");
        string output = await SendAsync(server, "127.0.0.62", "a@fail.auth.test", Message("a@fail.auth.test", "spf-record"));
        Assert.StartsWith("MAIL 250 2.1.0 Ok\nDATA 250 2.0.0 Ok: queued as ", output);
        Assert.Equal("Authentication-Results: mx.test;\r\n"
            + "\tspf=fail (fail.auth.test: 127.0.0.62 is not permitted) smtp.mailfrom=a@fail.auth.test;\r\n"
            + "\tdkim=none;\r\n"
            + "\tarc=none smtp.remote-ip=127.0.0.62;\r\n"
            + "\tdmarc=fail (p=none dis=none) header.from=fail.auth.test policy.dmarc=none",
            AuthenticationResults(await DeliveredAsync(server, "spf-record")));
    }

    [Fact]
    public async Task SpfPassAlignedIsDmarcPass()
    {
        await using var server = await StartAsync();
        await SendAsync(server, "127.0.0.63", "a@pass.auth.test", Message("a@pass.auth.test", "spf-pass"));
        Assert.Equal("Authentication-Results: mx.test;\r\n"
            + "\tspf=pass (pass.auth.test: 127.0.0.63 is permitted) smtp.mailfrom=a@pass.auth.test;\r\n"
            + "\tdkim=none;\r\n"
            + "\tarc=none smtp.remote-ip=127.0.0.63;\r\n"
            + "\tdmarc=pass header.from=pass.auth.test policy.dmarc=reject",
            AuthenticationResults(await DeliveredAsync(server, "spf-pass")));
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("ed")]
    public async Task MessagesDkimpySignsVerifyAndAlteredOnesFail(string selector)
    {
        await using var server = await StartAsync(name: "dkim-" + selector);
        string marker = "dkim-" + selector + "-" + Guid.NewGuid().ToString("N")[..8];
        byte[] signed = await SignAsync(Message("a@signed.auth.test", marker), selector);
        string output = await SendAsync(server, "127.0.0.64", "bounce@other.test", signed);
        Assert.Contains("DATA 250 2.0.0", output, StringComparison.Ordinal);
        string b = Encoding.ASCII.GetString(signed).Split("b=")[^1][..8];
        Assert.Equal("Authentication-Results: mx.test;\r\n"
            + "\tspf=neutral (other.test: 127.0.0.64 is neither permitted nor denied) smtp.mailfrom=bounce@other.test;\r\n"
            + $"\tdkim=pass header.d=signed.auth.test header.s={selector} header.i=@signed.auth.test header.b=\"{b}\";\r\n"
            + "\tarc=none smtp.remote-ip=127.0.0.64;\r\n"
            + "\tdmarc=pass header.from=signed.auth.test policy.dmarc=reject",
            AuthenticationResults(await DeliveredAsync(server, marker)).Replace($"header.b={b}", $"header.b=\"{b}\"", StringComparison.Ordinal));

        // The same message altered after signing: the body hash no longer matches, and DMARC p=reject refuses it.
        byte[] altered = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(signed).Replace("body of", "BODY OF", StringComparison.Ordinal));
        output = await SendAsync(server, "127.0.0.64", "bounce@other.test", altered);
        Assert.Equal("MAIL 250 2.1.0 Ok\nDATA 550 5.7.1 Message rejected by the DMARC policy of signed.auth.test\n", output);
    }

    [Theory]
    [InlineData("a@reject.auth.test", "DATA 550 5.7.1 Message rejected by the DMARC policy of reject.auth.test")]
    [InlineData("a@child.auth.test", "DATA 550 5.7.1 Message rejected by the DMARC policy of child.auth.test")] // sp=reject of auth.test
    public async Task DmarcRejectIsRefusedAtEndOfData(string from, string reply)
    {
        await using var server = await StartAsync();
        // SPF gives neutral for other.test, which is not aligned with the From: domain anyway.
        string output = await SendAsync(server, "127.0.0.65", "bounce@other.test", Message(from, "dmarc-reject"));
        Assert.Equal("MAIL 250 2.1.0 Ok\n" + reply + "\n", output);
    }

    [Theory]
    [InlineData("a@quarantine.auth.test", true, "dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.auth.test policy.dmarc=quarantine")]
    [InlineData("a@sampled.auth.test", true, "dmarc=fail (p=reject dis=quarantine) header.from=sampled.auth.test policy.dmarc=quarantine")] // pct=0
    [InlineData("a@other.test", false, "dmarc=none header.from=other.test")] // no record
    public async Task DmarcQuarantineFilesIntoJunk(string from, bool junk, string dmarc)
    {
        await using var server = await StartAsync();
        string marker = "dmarc-" + Guid.NewGuid().ToString("N")[..8];
        string output = await SendAsync(server, "127.0.0.66", "bounce@other.test", Message(from, marker));
        Assert.Contains("DATA 250 2.0.0", output, StringComparison.Ordinal);
        string ar = AuthenticationResults(await DeliveredAsync(server, marker, junk));
        Assert.EndsWith("\t" + dmarc, ar, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForgedAuthenticationResultsWithOurAuthServIdIsRemoved()
    {
        await using var server = await StartAsync();
        string marker = "forged-" + Guid.NewGuid().ToString("N")[..8];
        string forged = "Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=ceo@pass.auth.test\r\n";
        string foreign = "Authentication-Results: mx.elsewhere.test; dkim=pass header.d=elsewhere.test\r\n";
        await SendAsync(server, "127.0.0.67", "a@pass.auth.test", Message("a@pass.auth.test", marker, forged + foreign));
        string text = ReadCrlf(await DeliveredAsync(server, marker));
        Assert.DoesNotContain("ceo@pass.auth.test", text, StringComparison.Ordinal);
        Assert.Contains("\r\n" + foreign + "From: <a@pass.auth.test>\r\n", text, StringComparison.Ordinal);
        Assert.Single(text.Split("Authentication-Results: mx.test;").Skip(1));
    }
}
