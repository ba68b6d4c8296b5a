using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// Mail loops (RFC 5321 §6.3) end with one 5.4.6 bounce instead of mail going round: an MX that is the server itself
/// (nsd answers with its own listener's address, <c>[relay] port</c> is its own port), an MX that greets with the
/// server's own host name (aiosmtpd calling itself <c>mx.test</c>), aliases of two servers that forward to each other
/// (stopped by the hop count), and a message that arrives with 101 <c>Received:</c> fields (swaks gets 554 5.4.6).
/// </summary>
public sealed class MailLoopTests(LoopZonesFixture dns) : IClassFixture<LoopZonesFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("postbote-loop-it-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ServerOptions Relaying(string hostname = "mx.test") => new()
    {
        Hostname = hostname,
        TrustedNetworks = ["127.0.0.0/8"],
        DnsServers = [$"127.0.0.1:{dns.EndPoint.Port}"],
        RetryIntervalSeconds = 60,
    };

    [Fact]
    public async Task AnMxThatIsTheServerItselfGivesTheSenderOneBounceWith546AndNoSecondHop()
    {
        await using var server = new PostboteServer(Relaying(), "loop-self");
        server.Options.RelayPort = server.Port;
        server.WriteConfiguration();
        await server.StartAsync();
        var clock = Stopwatch.StartNew();
        string marker = SmtpDialog.NewMarker("self");
        await SendAsync(server, "alice@example.com", "bob@self.loops.test", marker);

        var alice = server.Mailbox("alice@example.com");
        IReadOnlyList<MaildirMessage> bounces = await alice.WaitForAsync(1, TimeSpan.FromSeconds(60));
        Assert.True(bounces.Count == 1, alice.Describe() + server.Diagnostics());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60));
        string dsn = bounces[0].Text;
        Assert.Contains("Status: 5.4.6", dsn, StringComparison.Ordinal);
        Assert.Contains($"mail for self.loops.test loops back to myself (mail exchanger mx.self.loops.test[127.0.0.1]:{server.Port} is this server)",
            Unfold(dsn), StringComparison.Ordinal);
        Assert.Contains(marker, dsn, StringComparison.Ordinal);

        // Nothing more comes, and the message went to ourselves at most once: the server took two messages in all (the
        // original and its bounce) and relayed none.
        await Task.Delay(2000);
        Assert.Equal(1, alice.Count());
        Assert.True(server.LogCount("queued ") <= 2 && server.LogCount("status=sent") == 1 && server.LogCount("status=bounced") == 1,
            server.Diagnostics());
        Assert.True(await server.WaitForEmptySpoolAsync(TimeSpan.FromSeconds(10)), server.Diagnostics());
    }

    [Fact]
    public async Task AnMxThatGreetsWithOurOwnHostNameIsALoopAndGetsNoMessage()
    {
        var capture = new PeerCapture(Path.Combine(_dir, "named.jsonl"));
        using var peer = await ScriptPeer.StartAsync("aiosmtpd_peer.py", capture.Path, "mx.test", "127.0.0.62");
        ServerOptions options = Relaying();
        options.RelayPort = peer.Port;
        await using var server = await PostboteServer.StartNewAsync(options, "loop-named");
        string marker = SmtpDialog.NewMarker("named");
        await SendAsync(server, "alice@example.com", "bob@named.loops.test", marker);

        var alice = server.Mailbox("alice@example.com");
        IReadOnlyList<MaildirMessage> bounces = await alice.WaitForAsync(1, TimeSpan.FromSeconds(60));
        Assert.True(bounces.Count == 1, alice.Describe() + server.Diagnostics());
        string dsn = Unfold(bounces[0].Text);
        Assert.Contains("Status: 5.4.6", dsn, StringComparison.Ordinal);
        Assert.Contains($"mail for named.loops.test loops back to myself (mx.named.loops.test[127.0.0.62]:{peer.Port} names itself mx.test in its greeting reply, my own host name)",
            dsn, StringComparison.Ordinal);
        Assert.Single(capture.Events("connect"));
        Assert.Empty(capture.Events("message"));
    }

    [Fact]
    public async Task AliasesOfTwoServersThatForwardToEachOtherStopAtTheHopCount()
    {
        // one.loops.test on server 1: a@ forwards to b@two.loops.test; two.loops.test on server 2: b@ forwards back to a@.
        // Both MX are 127.0.0.1, and each server's [relay] port is the other's listener.
        ServerOptions o1 = Relaying("s1.loops.test"), o2 = Relaying("s2.loops.test");
        o1.LocalDomains = ["one.loops.test"];
        o1.Mailboxes = ["sender@one.loops.test"];
        o1.Aliases = new Dictionary<string, string[]> { ["a@one.loops.test"] = ["b@two.loops.test"] };
        o2.LocalDomains = ["two.loops.test"];
        o2.Mailboxes = ["postmaster@two.loops.test"];
        o2.Aliases = new Dictionary<string, string[]> { ["b@two.loops.test"] = ["a@one.loops.test"] };
        await using var s1 = new PostboteServer(o1, "loop-alias-1");
        await using var s2 = new PostboteServer(o2, "loop-alias-2");
        o1.RelayPort = s2.Port;
        o2.RelayPort = s1.Port;
        s1.WriteConfiguration();
        s2.WriteConfiguration();
        await s1.StartAsync();
        await s2.StartAsync();
        string marker = SmtpDialog.NewMarker("aliases");
        await SendAsync(s1, "sender@one.loops.test", "a@one.loops.test", marker);

        var sender = s1.Mailbox("sender@one.loops.test");
        IReadOnlyList<MaildirMessage> bounces = await sender.WaitForAsync(1, TimeSpan.FromSeconds(90));
        Assert.True(bounces.Count == 1, sender.Describe() + s1.Diagnostics(40) + s2.Diagnostics(40));
        string dsn = Unfold(bounces[0].Text);
        Assert.Contains("Status: 5.4.6", dsn, StringComparison.Ordinal);
        Assert.Contains("too many hops: more than 100 Received: header fields (limits.hop_count_limit), mail loops", dsn, StringComparison.Ordinal);
        // The message went round 100 times: 50 forwards by each server, then the one holding 101 Received fields bounced.
        // The log lines trail the mail: 100 hops take about a second, and the bounce can be in the Maildir before the last
        // "status=sent" lines have been read from the servers' output. Waits for them (bounded), then counts.
        int relayed = 0;
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(100))
        {
            relayed = s1.LogCount("status=sent") + s2.LogCount("status=sent");
            if (relayed >= 99) break;
        }
        await Task.Delay(500);
        relayed = s1.LogCount("status=sent") + s2.LogCount("status=sent");
        Assert.True(relayed is >= 99 and <= 101, $"{relayed} relays" + s1.Diagnostics(20));
        await Task.Delay(2000);
        Assert.Equal(1, sender.Count());
    }

    [Theory]
    [InlineData(100, true)]
    [InlineData(101, false)]
    public async Task AMessageWithMoreReceivedFieldsThanTheLimitIsRefusedWith554And546(int received, bool accepted)
    {
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions(), "hops-" + received);
        var text = new StringBuilder();
        for (int i = received; i > 0; i--)
        {
            text.Append(CultureInfo.InvariantCulture, $"Received: from hop{i - 1}.example by hop{i}.example; Fri, 31 Jan 2025 12:00:00 +0000\r\n");
        }
        string marker = SmtpDialog.NewMarker("hops");
        text.Append(CultureInfo.InvariantCulture, $"From: <a@example.org>\r\nTo: <rcpt@example.com>\r\nSubject: {marker}\r\n\r\nround and round");
        string file = Path.Combine(_dir, $"hops-{received}.eml");
        await File.WriteAllTextAsync(file, text.ToString());
        var result = await ExternalProcess.RunAsync("swaks",
            ["--server", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture), "--helo", "client.test",
             "--from", "a@example.org", "--to", "rcpt@example.com", "--data", "@" + file, "--timeout", "30"],
            TimeSpan.FromSeconds(60));
        if (accepted)
        {
            Assert.True(result.ExitCode == 0, result.Output + server.Diagnostics());
            Assert.NotNull(await server.Mailbox("rcpt@example.com").WaitForMessageContainingAsync(marker));
        }
        else
        {
            Assert.Contains("<** 554 5.4.6 Error: too many hops (mail loop)", result.Output, StringComparison.Ordinal);
            Assert.Equal(1, server.LogCount("message refused: too many hops: more than 100 Received: header fields (limits.hop_count_limit)"));
            Assert.Equal(0, server.Mailbox("rcpt@example.com").Count());
            Assert.Empty(server.SpoolFiles());
        }
    }

    private static async Task SendAsync(PostboteServer server, string from, string to, string marker)
    {
        using var smtp = await SmtpConnection.ConnectAsync(server.Port);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        var reply = await SmtpDialog.SendMailAsync(smtp, from, [to], SmtpDialog.SampleMessage(marker, from, to), ehlo: false);
        Assert.True(reply.Text.StartsWith("250", StringComparison.Ordinal), reply.Text + server.Diagnostics());
    }

    private static string Unfold(string text) => Regex.Replace(text.Replace("\r\n", "\n", StringComparison.Ordinal), @"\n[ \t]+", " ");
}
