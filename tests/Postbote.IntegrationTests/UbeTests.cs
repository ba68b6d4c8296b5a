using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Postbote.IntegrationTests.Infrastructure;
using Postbote.Testing.Dns;

namespace Postbote.IntegrationTests;

/// <summary>nsd with a block list <c>bl.test</c> and an allow list <c>wl.test</c> (RFC 5782 layout): 127.0.0.2 is
/// listed (127.0.0.2, with a TXT reason), 127.0.0.3 is listed with 127.0.0.10 only, 127.0.0.4 is on both lists.</summary>
public sealed class UbeZonesFixture : DnsServerFixture
{
    public const string Reason = "Listed for testing, see https://bl.test/q?127.0.0.2";

    protected override IReadOnlyList<TestZone> Zones { get; } =
    [
        new("bl.test", $$"""
            $ORIGIN bl.test.
            $TTL 300
            @          IN SOA ns.bl.test. hostmaster.bl.test. 1 3600 600 86400 60
            @          IN NS  ns
            ns         IN A   127.0.0.1
            2.0.0.127  IN A   127.0.0.2
            2.0.0.127  IN TXT "{{Reason}}"
            3.0.0.127  IN A   127.0.0.10
            4.0.0.127  IN A   127.0.0.2

            """),
        new("wl.test", """
            $ORIGIN wl.test.
            $TTL 300
            @          IN SOA ns.wl.test. hostmaster.wl.test. 1 3600 600 86400 60
            @          IN NS  ns
            ns         IN A   127.0.0.1
            4.0.0.127  IN A   127.0.10.1

            """),
    ];
}

/// <summary>The defences against unsolicited bulk mail, on the built server with real clients from chosen loopback
/// addresses (trusted_networks is empty, so every client is checked): DNSBL/DNSWL against nsd, greylisting, connection
/// rate limits, the greet pause.</summary>
public sealed class UbeTests(UbeZonesFixture dns) : IClassFixture<UbeZonesFixture>
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Scripts", "smtplib_from.py");

    private sealed record Step(string Name, int Code, string Text);

    /// <summary>One smtplib transaction from <paramref name="source"/>; its steps in order.</summary>
    private static async Task<List<Step>> SendFromAsync(PostboteServer server, string source, string to, string from = "a@example.org", string subject = "test")
    {
        var r = await ExternalProcess.RunAsync("/usr/bin/python3",
            [Script, server.Port.ToString(CultureInfo.InvariantCulture), source, from, to, subject], TimeSpan.FromSeconds(60));
        Assert.False(r.TimedOut, r.Output);
        var steps = new List<Step>();
        foreach (string line in r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            steps.Add(new Step(doc.RootElement.GetProperty("step").GetString()!, doc.RootElement.GetProperty("code").GetInt32(),
                doc.RootElement.GetProperty("text").GetString()!));
        }
        Assert.True(steps.Count > 0, r.Output + server.Diagnostics());
        return steps;
    }

    private static Step StepOf(List<Step> steps, string name) =>
        steps.Find(s => s.Name == name) ?? throw new Xunit.Sdk.XunitException($"no {name} step in {string.Join("; ", steps)}");

    private ServerOptions WithDns(string tables) => new()
    {
        DnsServers = [$"127.0.0.1:{dns.EndPoint.Port}"],
        ExtraTables = tables,
    };

    [Fact]
    public async Task BlockListedClientGets554NamingTheListAndItsReasonAtRcpt()
    {
        await using var server = await PostboteServer.StartNewAsync(WithDns("""
            [dnsbl]
            zones = ["bl.test=127.0.0.[2..9]"]
            [dnswl]
            zones = ["wl.test"]
            """), "dnsbl");

        List<Step> listed = await SendFromAsync(server, "127.0.0.2", "rcpt@example.com");
        Step rcpt = StepOf(listed, "rcpt");
        Assert.Equal(554, rcpt.Code);
        Assert.Equal($"5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test; {UbeZonesFixture.Reason}", rcpt.Text);
        Assert.DoesNotContain(listed, s => s.Name == "data");
        Assert.True(await server.WaitForLogAsync("client [127.0.0.2] listed in DNSBL bl.test (127.0.0.2)", 1, TimeSpan.FromSeconds(10)), server.Diagnostics());

        // postmaster stays reachable for a listed client (RFC 5321 §4.5.1).
        Assert.Equal(250, StepOf(await SendFromAsync(server, "127.0.0.2", "postmaster@example.com"), "data").Code);
        // 127.0.0.10 is outside the filter [2..9]: not a listing.
        Assert.Equal(250, StepOf(await SendFromAsync(server, "127.0.0.3", "rcpt@example.com"), "data").Code);
        // On the allow list too: the allow list wins.
        Assert.Equal(250, StepOf(await SendFromAsync(server, "127.0.0.4", "rcpt@example.com"), "data").Code);
        // Not listed at all.
        Assert.Equal(250, StepOf(await SendFromAsync(server, "127.0.0.9", "rcpt@example.com"), "data").Code);
        Assert.Equal(4, server.Mailbox("rcpt@example.com").Count() + server.Mailbox("postmaster@example.com").Count());
    }

    [Fact]
    public async Task RecordActionDeliversWithTheListInAHeader()
    {
        await using var server = await PostboteServer.StartNewAsync(WithDns("""
            [dnsbl]
            zones = ["bl.test", "missing-list.test"]
            action = "record"
            """), "dnsbl-record");
        string marker = SmtpDialog.NewMarker("dnsbl-record");
        Assert.Equal(250, StepOf(await SendFromAsync(server, "127.0.0.2", "rcpt@example.com", subject: marker), "data").Code);
        MaildirMessage? m = await server.Mailbox("rcpt@example.com").WaitForMessageContainingAsync(marker, TimeSpan.FromSeconds(20));
        Assert.NotNull(m);
        Assert.Equal("bl.test", m.Header("X-Postbote-DNSBL"));
        Assert.Single(m.Text.Split('\n'), l => l.StartsWith("X-Postbote-DNSBL:", StringComparison.Ordinal));

        string other = SmtpDialog.NewMarker("dnsbl-clean");
        Assert.Equal(250, StepOf(await SendFromAsync(server, "127.0.0.9", "rcpt@example.com", subject: other), "data").Code);
        MaildirMessage? clean = await server.Mailbox("rcpt@example.com").WaitForMessageContainingAsync(other, TimeSpan.FromSeconds(20));
        Assert.NotNull(clean);
        Assert.Null(clean.Header("X-Postbote-DNSBL"));
    }

    [Fact]
    public async Task GreylistDefersWith451ThenAcceptsAfterTheDelayAndKeepsItsStateAcrossARestart()
    {
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions
        {
            ExtraTables = """
                [greylist]
                enabled = true
                delay = 2
                """,
        }, "greylist");
        var first = Stopwatch.StartNew();
        Step rcpt = StepOf(await SendFromAsync(server, "127.0.0.5", "rcpt@example.com"), "rcpt");
        Assert.Equal((451, "4.7.1 Greylisted, try again in 2 seconds"), (rcpt.Code, rcpt.Text));
        // Another recipient is its own triplet.
        Step alice = StepOf(await SendFromAsync(server, "127.0.0.5", "alice@example.com"), "rcpt");
        Assert.Equal(451, alice.Code);
        // At once again: still deferred, with the seconds left.
        Step again = StepOf(await SendFromAsync(server, "127.0.0.5", "rcpt@example.com"), "rcpt");
        if (first.Elapsed < TimeSpan.FromSeconds(1.5))
        {
            Assert.Equal(451, again.Code);
            Assert.Matches(@"^4\.7\.1 Greylisted, try again in [12] seconds$", again.Text);
        }

        await Task.Delay(TimeSpan.FromSeconds(2.2) - first.Elapsed is { Ticks: > 0 } left ? left : TimeSpan.Zero);
        List<Step> retried = await SendFromAsync(server, "127.0.0.5", "rcpt@example.com");
        Assert.Equal(250, StepOf(retried, "rcpt").Code);
        Assert.Equal(250, StepOf(retried, "data").Code);
        Assert.True(await server.WaitForLogAsync("greylist: client [127.0.0.5] from <a@example.org> to <rcpt@example.com> passed after", 1, TimeSpan.FromSeconds(5)),
            server.Diagnostics());
        // The same /24 from another address passes too: the triplet holds the network.
        Assert.Equal(250, StepOf(await SendFromAsync(server, "127.0.0.6", "rcpt@example.com"), "data").Code);

        // kill -9 and start again: the passed triplet passes at once, the deferred one (alice) passes on its retry.
        await server.RestartAsync();
        Assert.Equal(250, StepOf(await SendFromAsync(server, "127.0.0.5", "rcpt@example.com"), "data").Code);
        Assert.Equal(250, StepOf(await SendFromAsync(server, "127.0.0.5", "alice@example.com"), "data").Code);
        // A sender never seen is still greylisted.
        Assert.Equal(451, StepOf(await SendFromAsync(server, "127.0.0.5", "rcpt@example.com", from: "new@example.org"), "rcpt").Code);
        Assert.Equal(3, server.Mailbox("rcpt@example.com").Count()); // after the pass, from the same /24, after the restart
        Assert.True(File.Exists(Path.Combine(server.DataDir, "greylist", "triplets")));
    }

    /// <summary>Connects from <paramref name="source"/> and reads the first reply line.</summary>
    private static async Task<string> GreetingFromAsync(int port, string source)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await socket.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        var buffer = new byte[512];
        int n = 0;
        while (n < buffer.Length)
        {
            int read = await socket.ReceiveAsync(buffer.AsMemory(n), SocketFlags.None, cts.Token);
            if (read == 0) break;
            n += read;
            if (buffer.AsSpan(0, n).IndexOf("\r\n"u8) >= 0) break;
        }
        string line = Encoding.ASCII.GetString(buffer, 0, n);
        if (line.StartsWith("220", StringComparison.Ordinal)) await socket.SendAsync("QUIT\r\n"u8.ToArray(), SocketFlags.None, cts.Token);
        return line;
    }

    [Fact]
    public async Task ConnectionRateLimitIsHitWith421AndReleasedAsTheWindowMoves()
    {
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions
        {
            ExtraTables = """
                [rate_limits]
                connections_per_client = 60
                """,
        }, "rate-limit");
        // 60 per minute is one per second in the long run, 60 at once: the 61st quick connection is refused.
        int accepted = 0;
        string refused = "";
        for (int i = 0; i < 200 && refused.Length == 0; i++)
        {
            string line = await GreetingFromAsync(server.Port, "127.0.0.7");
            if (line.StartsWith("220 ", StringComparison.Ordinal)) accepted++;
            else refused = line;
        }
        Assert.Equal("421 4.7.0 mx.test Error: too many connections from [127.0.0.7]\r\n", refused);
        Assert.InRange(accepted, 60, 199);
        // Another client is not affected.
        Assert.StartsWith("220 ", await GreetingFromAsync(server.Port, "127.0.0.8"), StringComparison.Ordinal);
        // A second later one connection is allowed again.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        Assert.StartsWith("220 ", await GreetingFromAsync(server.Port, "127.0.0.7"), StringComparison.Ordinal);
        Assert.True(server.LogCount("connection rate limit: client [127.0.0.7]") >= 1, server.Diagnostics());
    }

    [Fact]
    public async Task EarlyTalkerGets554AndIsClosedWhileAPatientClientIsGreetedAfterThePause()
    {
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions { GreetPauseSeconds = 1 }, "greet-pause");

        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.9"), 0));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await socket.ConnectAsync(IPAddress.Loopback, server.Port, cts.Token);
            await socket.SendAsync("EHLO early.test\r\n"u8.ToArray(), SocketFlags.None, cts.Token);
            var received = new MemoryStream();
            var buffer = new byte[512];
            for (int i = 0; i < 100; i++)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) break;
                received.Write(buffer, 0, n);
            }
            // No greeting, one reply, then the server closes.
            Assert.Equal("554 5.5.1 Error: SMTP protocol violation\r\n", Encoding.ASCII.GetString(received.ToArray()));
        }
        Assert.True(await server.WaitForLogAsync("early talker refused: client [127.0.0.9]", 1, TimeSpan.FromSeconds(5)), server.Diagnostics());

        // swaks waits for the greeting: it arrives after the pause and the message is queued.
        var watch = Stopwatch.StartNew();
        var r = await ExternalProcess.RunAsync("swaks",
            ["--server", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture), "--local-interface", "127.0.0.9",
             "--helo", "client.test", "--from", "a@example.org", "--to", "rcpt@example.com", "--timeout", "30"],
            TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, r.Output + server.Diagnostics());
        Assert.Contains("<-  220 mx.test", r.StandardOutput, StringComparison.Ordinal);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1), $"greeted after {watch.Elapsed}");
        Assert.Single(await server.Mailbox("rcpt@example.com").WaitForAsync(1, TimeSpan.FromSeconds(20)));
    }
}
