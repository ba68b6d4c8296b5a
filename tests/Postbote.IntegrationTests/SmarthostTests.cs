using System.Text;
using System.Text.Json;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// <c>[relay] smarthost</c> with AUTH: every remote domain goes to the provider's server instead of its MX, over STARTTLS,
/// authenticated. The smarthost is aiosmtpd requiring STARTTLS and then AUTH (a real server, not written on Postbote's
/// client code); no DNS is asked (the test servers' resolver never answers, so an MX lookup would defer the mail).
/// </summary>
public sealed class SmarthostTests : IDisposable
{
    private const string User = "me@example.com";
    private const string Password = "s3cret smarthost";
    private readonly string _dir = Directory.CreateTempSubdirectory("postbote-smarthost-it-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task MailForAnyRemoteDomainGoesToTheSmarthostOverTlsAuthenticated()
    {
        string capture = Path.Combine(_dir, "capture.jsonl");
        using var smarthost = await StartSmarthostAsync("127.0.0.44", capture);
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions
        {
            TrustedNetworks = ["127.0.0.0/8"],
            Smarthost = $"[127.0.0.44]:{smarthost.Port}",
            SmarthostCredential = (User, Password),
        }, "smarthost");
        var marker = SmtpDialog.NewMarker("smarthost");
        List<string> sent = await SmtpDialog.SendSamplesAsync(server, "bob@far.example", 1, _ => marker);
        Assert.Single(sent);

        JsonElement received = await WaitForMessageAsync(capture) ?? throw new Xunit.Sdk.XunitException("the smarthost received nothing" + server.Diagnostics());
        Assert.Equal(User, received.GetProperty("login").GetString());
        Assert.True(received.GetProperty("tls").GetBoolean());
        Assert.Equal(["bob@far.example"], received.GetProperty("rcpt_tos").EnumerateArray().Select(e => e.GetString()));
        string content = Encoding.ASCII.GetString(Convert.FromBase64String(received.GetProperty("content").GetString()!));
        string message = Encoding.ASCII.GetString(SmtpDialog.SampleMessage(marker));
        Assert.True(content.StartsWith("Received: from client.test", StringComparison.Ordinal), content);
        Assert.EndsWith("\r\n" + message, content, StringComparison.Ordinal);
        Assert.True(await server.WaitForLogAsync($"to=<bob@far.example>, relay=127.0.0.44[127.0.0.44]:{smarthost.Port}", 1, TimeSpan.FromSeconds(10)),
            server.Diagnostics());
        Assert.Equal(0, server.LogCount("MX lookup"));
        Assert.Equal(0, server.LogCount(Password));
    }

    [Fact]
    public async Task ARefusedPasswordDefersTheMailAndNothingArrives()
    {
        string capture = Path.Combine(_dir, "capture-wrong.jsonl");
        using var smarthost = await StartSmarthostAsync("127.0.0.45", capture);
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions
        {
            TrustedNetworks = ["127.0.0.0/8"],
            Smarthost = $"[127.0.0.45]:{smarthost.Port}",
            SmarthostCredential = (User, "wrong password"),
        }, "smarthost-wrong");
        await SmtpDialog.SendSamplesAsync(server, "bob@far.example", 1, _ => SmtpDialog.NewMarker("wrong"));
        Assert.True(await server.WaitForLogAsync("to=<bob@far.example>, relay=none", 1, TimeSpan.FromSeconds(15)), server.Diagnostics());
        Assert.Equal(1, server.LogCount(
            $"status=deferred (451 4.4.1 no address of smtp:[127.0.0.45]:{smarthost.Port} took the message; last error: 535 5.7.8 127.0.0.45[127.0.0.45]:{smarthost.Port} refused AUTH: "));
        Assert.False(File.Exists(capture), "the smarthost took a message without AUTH");
    }

    [Fact]
    public async Task ASmarthostWithoutStartTlsNeverSeesThePassword()
    {
        string capture = Path.Combine(_dir, "capture-plain.jsonl");
        using var plain = await ScriptPeer.StartAsync("aiosmtpd_receiver.py", "127.0.0.46", capture);
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions
        {
            TrustedNetworks = ["127.0.0.0/8"],
            Smarthost = $"[127.0.0.46]:{plain.Port}",
            SmarthostCredential = (User, Password),
        }, "smarthost-plain");
        await SmtpDialog.SendSamplesAsync(server, "bob@far.example", 1, _ => SmtpDialog.NewMarker("plain"));
        Assert.True(await server.WaitForLogAsync("to=<bob@far.example>, relay=none", 1, TimeSpan.FromSeconds(15)), server.Diagnostics());
        Assert.True(server.LogCount($"status=deferred (451 4.4.1 no address of smtp:[127.0.0.46]:{plain.Port} took the message; last error: ") == 1 &&
            server.LogCount($"127.0.0.46[127.0.0.46]:{plain.Port} offers no STARTTLS; the smarthost password is sent over TLS only") >= 1, server.Diagnostics());
        Assert.False(File.Exists(capture), "the message went out without TLS");
    }

    private async Task<ScriptPeer> StartSmarthostAsync(string address, string capture)
    {
        string cert = Path.Combine(_dir, address + ".crt"), key = Path.Combine(_dir, address + ".key");
        var openssl = await ExternalProcess.RunAsync("openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=smarthost.test", "-days", "2", "-keyout", key, "-out", cert],
            TimeSpan.FromSeconds(60));
        Assert.True(openssl.ExitCode == 0, openssl.Output);
        return await ScriptPeer.StartAsync("aiosmtpd_smarthost.py", address, capture, cert, key, User, Password);
    }

    private static async Task<JsonElement?> WaitForMessageAsync(string capture)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(capture) && (await File.ReadAllLinesAsync(capture)) is [var first, ..])
                return JsonDocument.Parse(first).RootElement.Clone();
            await Task.Delay(100);
        }
        return null;
    }
}
