using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// A destination that asks to slow down is spaced and still served once, without delaying others: receiver A (aiosmtpd
/// on 127.0.0.63) answers <c>421 4.7.0 too many connections</c> to every second connection, receiver B (127.0.0.64, the
/// same process and port) takes everything.
/// </summary>
public sealed class RemoteThrottlingTests(LoopZonesFixture dns) : IClassFixture<LoopZonesFixture>, IDisposable
{
    private const int PerDestination = 10;
    private readonly string _dir = Directory.CreateTempSubdirectory("postbote-throttle-it-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task AThrottlingDestinationIsSpacedAndServedOnceWhileTheOtherFlowsAtFullRate()
    {
        var capture = new PeerCapture(Path.Combine(_dir, "peer.jsonl"));
        using var peer = await ScriptPeer.StartAsync("aiosmtpd_peer.py", capture.Path, "mx.peer.test", "127.0.0.63", "127.0.0.64",
            "--refuse-every", "2", "--refuse-at", "127.0.0.63");
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions
        {
            TrustedNetworks = ["127.0.0.0/8"],
            DnsServers = [$"127.0.0.1:{dns.EndPoint.Port}"],
            RelayPort = peer.Port,
            // An ordinary deferral would wait a minute: whatever comes sooner is the throttle spacing.
            RetryIntervalSeconds = 60,
        }, "throttle");

        // Twenty clients at once, one message each: the deliveries to A start together, so A's connection limit bites.
        var markers = new Dictionary<string, string>();
        for (int i = 0; i < PerDestination; i++)
        {
            markers[SmtpDialog.NewMarker("throttle-a")] = $"x{i}@a.loops.test";
            markers[SmtpDialog.NewMarker("throttle-b")] = $"y{i}@b.loops.test";
        }
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(markers.Select(async pair =>
        {
            using var smtp = await SmtpConnection.ConnectAsync(server.Port);
            await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
            var reply = await SmtpDialog.SendMailAsync(smtp, "sender@example.org", [pair.Value], SmtpDialog.SampleMessage(pair.Key, to: pair.Value), ehlo: false);
            Assert.StartsWith("250", reply.Text, StringComparison.Ordinal);
        }));
        double sent = clock.Elapsed.TotalSeconds;

        bool Arrived(IReadOnlyList<JsonElement> events, string address) =>
            events.Count(e => e.GetProperty("event").GetString() == "message" && e.GetProperty("local").GetString() == address) >= PerDestination;
        Assert.True(await capture.WaitAsync(e => Arrived(e, "127.0.0.64"), TimeSpan.FromSeconds(30)), server.Diagnostics());
        double bDone = clock.Elapsed.TotalSeconds;
        Assert.True(await capture.WaitAsync(e => Arrived(e, "127.0.0.63"), TimeSpan.FromSeconds(90)), server.Diagnostics());
        double aDone = clock.Elapsed.TotalSeconds;
        await Task.Delay(2000);

        // Every message arrived exactly once, at its own destination.
        IReadOnlyList<JsonElement> messages = capture.Events("message");
        Assert.Equal(2 * PerDestination, messages.Count);
        foreach (var (marker, to) in markers)
        {
            JsonElement m = Assert.Single(messages, m => PeerCapture.Content(m).Contains(marker, StringComparison.Ordinal));
            Assert.Equal([to], m.GetProperty("rcpt_tos").EnumerateArray().Select(r => r.GetString()));
            Assert.Equal(to.Contains("@a.", StringComparison.Ordinal) ? "127.0.0.63" : "127.0.0.64", m.GetProperty("local").GetString());
        }

        // A refused connections, and every recipient deferred by a refusal was tried again no sooner than the spacing
        // (1 s), by the server's own clock (the time in its log lines).
        List<JsonElement> toA = capture.Events("connect").Where(e => e.GetProperty("local").GetString() == "127.0.0.63").ToList();
        List<double> refusedAt = toA.Where(e => e.GetProperty("refused").GetBoolean()).Select(e => e.GetProperty("time").GetDouble()).ToList();
        Assert.NotEmpty(refusedAt);
        var deferredAt = new Dictionary<string, DateTimeOffset>();
        int retried = 0;
        foreach (Match m in Regex.Matches(server.LogTail(4000), @"out\| (\S+Z) info Postbote\.Queue\.QueueScheduler: \S+: to=<(x\d+@a\.loops\.test)>, .*?status=(deferred|sent)"))
        {
            DateTimeOffset at = DateTimeOffset.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            if (m.Groups[3].Value == "deferred") deferredAt[m.Groups[2].Value] = at;
            else if (deferredAt.TryGetValue(m.Groups[2].Value, out DateTimeOffset deferred))
            {
                retried++;
                Assert.True(at - deferred >= TimeSpan.FromSeconds(0.9), $"{m.Groups[2].Value} was tried again {(at - deferred).TotalSeconds:0.000} s after its deferral" + server.Diagnostics());
            }
        }
        Assert.True(retried >= 1 && retried == deferredAt.Count, $"{retried} of {deferredAt.Count} deferred recipients of A retried" + server.Diagnostics());
        // A's throttled messages came back after the spacing, long before the retry interval of 60 s would have let them.
        Assert.True(aDone - sent is >= 0.9 and < 30, $"A's mail took {aDone - sent:0.0} s after the last was sent" + server.Diagnostics());
        Assert.True(server.LogCount("Destination a.loops.test asks to slow down (451 4.4.1 no mail exchanger of a.loops.test took the message; last error: 421 4.7.0 ") >= 1
            && server.LogCount("concurrency 20 -> 10") >= 1, server.Diagnostics());
        // B was never throttled nor held up: all of it arrived within seconds of being sent.
        Assert.Equal(0, server.LogCount("Destination b.loops.test asks to slow down"));
        Assert.Equal(0, capture.Events("connect").Count(e => e.GetProperty("refused").GetBoolean() && e.GetProperty("local").GetString() == "127.0.0.64"));
        Assert.True(bDone - sent < 10, $"B's mail took {bDone - sent:0.0} s after the last was sent");
        Assert.True(await server.WaitForEmptySpoolAsync(TimeSpan.FromSeconds(10)), server.Diagnostics());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"throttling: sent {2 * PerDestination} in {sent:0.00} s; B done after {bDone:0.00} s; A done after {aDone:0.00} s, {toA.Count} connections to A, {refusedAt.Count} refused"));
    }
}
