using System.Text.Json;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// The outbound identity settings, as the receiver (aiosmtpd on 127.0.0.65 and ::1, one port) records them: the EHLO name
/// is <c>[relay] helo_name</c>, the source address <c>bind_address</c> (IPv4) or <c>bind_address6</c> (IPv6), and
/// <c>address_preference</c> picks the family first tried, falling back to the other family of the same MX before the
/// next MX.
/// </summary>
public sealed class OutboundIdentityTests(LoopZonesFixture dns) : IClassFixture<LoopZonesFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("postbote-identity-it-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ServerOptions Options(int port, string preference) => new()
    {
        TrustedNetworks = ["127.0.0.0/8"],
        DnsServers = [$"127.0.0.1:{dns.EndPoint.Port}"],
        RelayPort = port,
        HeloName = "out.loops.test",
        BindAddress = "127.0.0.77",
        BindAddress6 = "::1",
        AddressPreference = preference,
    };

    [Fact]
    public async Task TheReceiverSeesTheConfiguredEhloNameAndSourceAddressAndTheFamilyFallsBackWithinTheMx()
    {
        var capture = new PeerCapture(Path.Combine(_dir, "ipv4.jsonl"));
        using var peer = await ScriptPeer.StartAsync("aiosmtpd_peer.py", capture.Path, "mx.peer.test", "127.0.0.65", "::1");
        await using var server = await PostboteServer.StartNewAsync(Options(peer.Port, "ipv4"), "identity-ipv4");

        // mx.id has only 127.0.0.65; mx.dual has 127.0.0.65 and ::1 (IPv4 first); mx.fb has 127.0.0.69, where nothing
        // listens, and ::1, with mx.id as the second MX: the IPv6 address of the first MX comes before the next MX.
        JsonElement id = await SendAndCaptureAsync(server, capture, "u@id.loops.test");
        Assert.Equal("out.loops.test", id.GetProperty("helo").GetString());
        Assert.Equal("127.0.0.77", id.GetProperty("peer").GetString());
        Assert.Equal("127.0.0.65", id.GetProperty("local").GetString());

        JsonElement dual = await SendAndCaptureAsync(server, capture, "v@dual.loops.test");
        Assert.Equal("127.0.0.65", dual.GetProperty("local").GetString());
        Assert.Equal("127.0.0.77", dual.GetProperty("peer").GetString());

        JsonElement fallback = await SendAndCaptureAsync(server, capture, "w@fb.loops.test");
        Assert.Equal("::1", fallback.GetProperty("local").GetString());
        Assert.Equal("::1", fallback.GetProperty("peer").GetString());
        Assert.Equal("out.loops.test", fallback.GetProperty("helo").GetString());
        Assert.True(server.LogCount($"connect to mx.fb.loops.test[127.0.0.69]:{peer.Port}: Connection refused; trying the next mail exchanger") == 1,
            server.Diagnostics());
    }

    [Fact]
    public async Task WithIpv6PreferredTheIpv6AddressOfTheMxIsTriedFirst()
    {
        var capture = new PeerCapture(Path.Combine(_dir, "ipv6.jsonl"));
        using var peer = await ScriptPeer.StartAsync("aiosmtpd_peer.py", capture.Path, "mx.peer.test", "127.0.0.65", "::1");
        await using var server = await PostboteServer.StartNewAsync(Options(peer.Port, "ipv6"), "identity-ipv6");
        JsonElement dual = await SendAndCaptureAsync(server, capture, "v@dual.loops.test");
        Assert.Equal("::1", dual.GetProperty("local").GetString());
        Assert.Equal("::1", dual.GetProperty("peer").GetString());
        Assert.Equal("out.loops.test", dual.GetProperty("helo").GetString());
    }

    private static async Task<JsonElement> SendAndCaptureAsync(PostboteServer server, PeerCapture capture, string to)
    {
        string marker = SmtpDialog.NewMarker("identity");
        using (var smtp = await SmtpConnection.ConnectAsync(server.Port))
        {
            await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
            var reply = await SmtpDialog.SendMailAsync(smtp, "sender@example.org", [to], SmtpDialog.SampleMessage(marker, to: to), ehlo: false);
            Assert.StartsWith("250", reply.Text, StringComparison.Ordinal);
        }
        Assert.True(await capture.WaitAsync(e => e.Any(x => x.GetProperty("event").GetString() == "message" && PeerCapture.Content(x).Contains(marker, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30)), server.Diagnostics());
        return capture.Events("message").Single(x => PeerCapture.Content(x).Contains(marker, StringComparison.Ordinal));
    }
}
