using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Postbote.IntegrationTests;

/// <summary>
/// Faults against the spool's newest paths with SPF, DKIM and DMARC on (resolving through nsd on loopback), so every
/// message carries an Authentication-Results field kept with its envelope (<c>hdrs</c>), DMARC p=quarantine files some
/// into <c>.Junk</c> (<c>junk</c>), some carry a forged Authentication-Results field with our authserv-id that is cut
/// from the stored bytes before the commit, and some are over 256 KiB, so their body is in a file of its own and the cut
/// rewrites that file. Clients are Python's smtplib; every test counts what was acknowledged against what arrived.
/// </summary>
public sealed class PolicyFieldFaultTests(AuthZonesFixture zones, ITestOutputHelper output) : IClassFixture<AuthZonesFixture>
{
    private const string Rcpt = "rcpt@example.com";

    private ServerOptions Options(int? retryInterval = null) => new()
    {
        AuthenticationChecks = true,
        DnsServers = [zones.DnsServer],
        RetryIntervalSeconds = retryInterval,
    };

    private static string NewRun(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>20 smtplib sessions, SIGKILL once about a quarter of the messages were acknowledged, restart: every
    /// acknowledged message is in the Maildir exactly once (junk in .Junk), with one Authentication-Results field of
    /// ours, the forged one gone and the rest byte-exact.</summary>
    [Fact]
    public async Task AcknowledgedMessagesWithAddedFieldsSurviveSigkillUnderLoadExactlyOnce()
    {
        await using var server = await PostboteServer.StartNewAsync(Options(), "policy-crash");
        using var load = SmtplibLoad.Prepare(NewRun("crash"), 600, i => (i % 4 == 1, i % 10 == 3, i % 6 == 5));
        var running = load.RunAsync(server.Port, sessions: 20, TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(40) && load.Acknowledged() < 150 && !running.IsCompleted) await Task.Delay(20);
        await server.KillAsync();
        var run = await running;
        string summary = $"killed after {clock.Elapsed.TotalSeconds:F1} s: {load.Summary()}";
        output.WriteLine(summary);
        var outcomes = load.Outcomes();
        var acked = load.Messages.Where(m => outcomes.GetValueOrDefault(m.Id, "").StartsWith("ack ", StringComparison.Ordinal)).ToList();
        Assert.True(acked.Count is > 0 and < 600, $"the kill did not fall within the load: {summary}\n{run.Output}");
        Assert.True(acked.Any(m => m.Large && m.Forged) && acked.Any(m => m.Junk) && acked.Any(m => m.Forged && !m.Large),
            $"not every kind of message was acknowledged before the kill: {summary}");
        Assert.DoesNotContain(outcomes.Values, o => o.StartsWith("refused", StringComparison.Ordinal));

        await server.RestartAsync();
        await WaitForDeliveryAsync(server, load, summary);
    }

    /// <summary>Thirty queued messages (delivery held back), SIGKILL, then in every copy of their records one message's
    /// <c>hdrs</c> gets a flipped bit, another's is overwritten by zeros from its middle (a torn sector), and a junk
    /// message's <c>junk</c> gets a flipped bit: after the restart those three are set aside in corrupt/ under their queue
    /// IDs, which the log names, and the other 27 are delivered exactly once, junk into .Junk.</summary>
    [Fact]
    public async Task DamagedHdrsOrJunkFieldLosesOnlyItsOwnMessage()
    {
        await using var server = new PostboteServer(Options(retryInterval: 1), "policy-damage");
        string mailbox = BlockDelivery(server);
        await server.StartAsync();
        using var load = SmtplibLoad.Prepare(NewRun("damage"), 30, i => (i % 5 == 0, false, i % 3 == 2));
        var run = await load.RunAsync(server.Port, sessions: 3, TimeSpan.FromSeconds(60));
        Assert.True(load.Acknowledged() == 30, $"{load.Summary()}\n{run.Output}{server.Diagnostics()}");
        Assert.True(await server.WaitForLogAsync("status=deferred", 30, TimeSpan.FromSeconds(30)), server.Diagnostics());
        await server.KillAsync();

        SmtplibLoad.Message flipped = load.Messages[4], zeroed = load.Messages[7], junk = load.Messages[8];
        Assert.True(!flipped.Junk && !zeroed.Junk && junk.Junk);
        int damaged = 0;
        foreach (string segment in Directory.GetFiles(server.SpoolDir, "seg-*.log"))
        {
            byte[] data = await File.ReadAllBytesAsync(segment);
            damaged += Damage(data, flipped.Id, "\"hdrs\":\"", (d, at) => d[at + 10] ^= 0x01);
            damaged += Damage(data, zeroed.Id, "\"hdrs\":\"", (d, at) => d.AsSpan(at + 20, 48).Clear());
            damaged += Damage(data, junk.Id, "\"junk\":true", (d, at) => d[at + 8] ^= 0x01);
            await File.WriteAllBytesAsync(segment, data);
        }
        Assert.InRange(damaged, 3, 30);

        File.Delete(mailbox);
        await server.RestartAsync();
        var lost = new HashSet<string>([flipped.Id, zeroed.Id, junk.Id], StringComparer.Ordinal);
        await WaitForDeliveryAsync(server, load, $"{damaged} record copies damaged", lost);

        var outcomes = load.Outcomes();
        foreach (SmtplibLoad.Message m in new[] { flipped, zeroed, junk })
        {
            string queueId = SmtplibLoad.QueueId(outcomes[m.Id]) ?? throw new InvalidOperationException(outcomes[m.Id]);
            Assert.True(File.Exists(Path.Combine(server.DataDir, "corrupt", queueId + ".rec")), $"{m.Id} ({queueId}) not in corrupt/" + server.Diagnostics());
            Assert.True(server.LogCount($"set aside as {Path.Combine(server.DataDir, "corrupt", queueId)}.rec") >= 1
                && server.LogCount($"queue IDs: {queueId}") >= 1, $"the log does not name {queueId}" + server.Diagnostics());
        }
        output.WriteLine($"{damaged} record copies damaged; {load.Messages.Count - lost.Count} of {load.Messages.Count} delivered, 3 set aside");
    }

    /// <summary>The Maildir's disk is full while junk messages (large ones with a forged field among them) wait for
    /// .Junk, then the spool's disk too, with room left for one large body: that one is received, cut and committed
    /// (250), the next gets 451/452 4.3.1 and the session goes on. Once space is freed everything acknowledged arrives
    /// exactly once, and the refused message sent again is delivered too.</summary>
    [Fact]
    public async Task FullDiskDuringJunkDeliveryAndLargeBodyCutRefusesWith4xxAndLosesNothing()
    {
        var server = new PostboteServer(Options(retryInterval: 1), "policy-diskfull");
        Tmpfs.Mount(server.DataDir, "16m");
        Tmpfs.Mount(server.MaildirRoot, "4m");
        try
        {
            await server.StartAsync();
            string maildirFiller = Tmpfs.Fill(server.MaildirRoot);
            using var queued = SmtplibLoad.Prepare(NewRun("full"), 12, i => (true, i % 2 == 0, true));
            var run = await queued.RunAsync(server.Port, sessions: 3, TimeSpan.FromSeconds(60));
            Assert.True(queued.Acknowledged() == 12, $"{queued.Summary()}\n{run.Output}{server.Diagnostics()}");
            Assert.True(await server.WaitForLogAsync("status=deferred", 12, TimeSpan.FromSeconds(30)), server.Diagnostics());

            // The spool's disk full but for 400 KiB: one large body fits, the second does not.
            string spoolFiller = Tmpfs.Fill(server.DataDir);
            using (var f = new FileStream(spoolFiller, FileMode.Open, FileAccess.Write)) f.SetLength(f.Length - 400 * 1024);
            using var tight = SmtplibLoad.Prepare(NewRun("tight"), 2, _ => (true, true, true));
            run = await tight.RunAsync(server.Port, sessions: 1, TimeSpan.FromSeconds(60));
            var outcomes = tight.Outcomes();
            output.WriteLine($"with 400 KiB left on the spool's disk: {string.Join(" | ", outcomes.Values)}");
            Assert.True(outcomes.GetValueOrDefault(tight.Messages[0].Id, "").StartsWith("ack 250 ", StringComparison.Ordinal), $"{string.Join('\n', outcomes.Values)}\n{run.Output}{server.Diagnostics()}");
            Assert.Matches(new Regex(@"^refused 45[12] 4\.3\.1 "), outcomes.GetValueOrDefault(tight.Messages[1].Id, "not sent"));

            File.Delete(maildirFiller);
            File.Delete(spoolFiller);
            await WaitForDeliveryAsync(server, queued, "space freed");

            // Only the refused one is sent again.
            File.WriteAllText(Path.Combine(tight.Folder, "manifest.txt"), $"{tight.Messages[1].Id} {tight.Messages[1].MailFrom} {Rcpt}\n");
            run = await tight.RunAsync(server.Port, sessions: 1, TimeSpan.FromSeconds(60));
            Assert.True(tight.Acknowledged() == 2, $"{tight.Summary()}\n{run.Output}{server.Diagnostics()}");
            await WaitForDeliveryAsync(server, tight, "sent again");
            Assert.Empty(queued.Verify(server.Mailbox(Rcpt)));
            Assert.Equal(0, server.LogCount("set aside"));
            Assert.True(server.IsRunning);
        }
        finally
        {
            await server.TerminateAsync(TimeSpan.FromSeconds(10));
            Tmpfs.Unmount(server.MaildirRoot);
            Tmpfs.Unmount(server.DataDir);
            await server.DisposeAsync();
        }
    }

    /// <summary>Regression: with no file descriptor left, reading a queued body to check its CRC-32C failed with EMFILE
    /// and the message was taken for damaged, set aside (its copy into corrupt/ failing too) and retired: acknowledged
    /// mail lost. Now the attempt is deferred. Eight queued messages wait (their Maildir path is a file), two sessions
    /// wait to send large messages with forged fields; the descriptor limit is cut to what is open; the two get 4xx, the
    /// server stays up, and once descriptors are back all ten arrive exactly once and nothing is set aside.</summary>
    [Fact]
    public async Task BodyUnreadableForWantOfDescriptorsIsNotTakenForDamage()
    {
        await using var server = new PostboteServer(Options(retryInterval: 1), "policy-emfile");
        string mailbox = BlockDelivery(server);
        await server.StartAsync();
        using var queued = SmtplibLoad.Prepare(NewRun("emfile"), 8, i => (i % 2 == 0, i < 4, i % 3 == 0));
        var run = await queued.RunAsync(server.Port, sessions: 2, TimeSpan.FromSeconds(60));
        Assert.True(queued.Acknowledged() == 8, $"{queued.Summary()}\n{run.Output}{server.Diagnostics()}");
        Assert.True(await server.WaitForLogAsync("status=deferred", 8, TimeSpan.FromSeconds(30)), server.Diagnostics());

        using var late = SmtplibLoad.Prepare(NewRun("late"), 2, i => (true, true, i == 1));
        string go = Path.Combine(late.Folder, "go");
        var lateRun = late.RunAsync(server.Port, sessions: 2, TimeSpan.FromSeconds(60), waitFor: go);
        var clock = Stopwatch.StartNew();
        while (late.Ready() < 2 && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(50);
        Assert.Equal(2, late.Ready());

        File.Delete(mailbox);
        string soft = File.ReadLines($"/proc/{server.ProcessId}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
        await SetDescriptorLimitAsync(server, Math.Max(16, server.DescriptorsOpen() - 4).ToString(CultureInfo.InvariantCulture));
        await File.WriteAllTextAsync(go, "");
        run = await lateRun;
        var outcomes = late.Outcomes();
        output.WriteLine($"without descriptors: {string.Join(" | ", outcomes.Values)}");
        Assert.All(late.Messages, m => Assert.Matches(new Regex(@"^refused 4\d\d 4\.\d\.\d "), outcomes.GetValueOrDefault(m.Id, "not sent")));
        // The queued messages' next attempts (1 s after the first) fall into this time. It ends at the first attempt that
        // met the want of descriptors: with no descriptor at all, the runtime itself aborts ("Out of memory.") when it has
        // to start a thread, which once happened 0.7 s in while the test waited for all 8 attempts.
        // A retry may meet the want of descriptors reading the body or writing the Maildir copy: either ends it.
        int deferredBefore = server.LogCount("status=deferred");
        clock.Restart();
        while (clock.Elapsed < TimeSpan.FromSeconds(3) && server.LogCount("the body cannot be read now") + server.LogCount("and not delivered") < 1
            && server.LogCount("status=deferred") == deferredBefore)
        {
            await Task.Delay(20);
        }
        Assert.True(server.IsRunning, server.Diagnostics());
        int emfile = server.LogCount("Too many open files");
        await SetDescriptorLimitAsync(server, soft);
        output.WriteLine($"{emfile} log lines with EMFILE while descriptors were out; {server.LogCount("set aside")} set aside");
        Assert.True(emfile > 0, "no operation failed for want of descriptors: the test proves nothing" + server.Diagnostics());

        await WaitForDeliveryAsync(server, queued, "descriptors back");
        run = await late.RunAsync(server.Port, sessions: 1, TimeSpan.FromSeconds(60));
        Assert.True(late.Acknowledged() == 2, $"{late.Summary()}\n{run.Output}{server.Diagnostics()}");
        await WaitForDeliveryAsync(server, late, "sent again");
        Assert.Empty(queued.Verify(server.Mailbox(Rcpt)));
        Assert.True(server.LogCount("set aside") == 0, server.Diagnostics());
    }

    /// <summary>Makes the mailbox's Maildir path a file, so that every delivery fails and is deferred; returns its path.</summary>
    private static string BlockDelivery(PostboteServer server)
    {
        string mailbox = server.Mailbox(Rcpt).Path;
        Directory.CreateDirectory(Path.GetDirectoryName(mailbox)!);
        File.WriteAllText(mailbox, "not a Maildir");
        return mailbox;
    }

    /// <summary>Sets the server's soft RLIMIT_NOFILE (the hard limit stays, so the soft one can be raised again).</summary>
    private static async Task SetDescriptorLimitAsync(PostboteServer server, string soft)
    {
        var r = await ExternalProcess.RunAsync("prlimit", ["--pid", server.ProcessId.ToString(CultureInfo.InvariantCulture), $"--nofile={soft}:"], TimeSpan.FromSeconds(10));
        Assert.True(r.ExitCode == 0, r.Output);
    }

    /// <summary>Applies <paramref name="change"/> at the last <paramref name="field"/> before each record copy of the message
    /// <paramref name="id"/> (found by its Subject line in the body that follows the envelope); returns how many.</summary>
    private static int Damage(byte[] data, string id, string field, Action<byte[], int> change)
    {
        byte[] subject = Encoding.ASCII.GetBytes($"Subject: {id}\r\n"), name = Encoding.ASCII.GetBytes(field);
        int count = 0;
        for (int at = data.AsSpan().IndexOf(subject); at >= 0;)
        {
            int f = data.AsSpan(0, at).LastIndexOf(name);
            Assert.True(f >= 0, $"no {field} before the record of {id}");
            change(data, f);
            count++;
            int next = data.AsSpan(at + 1).IndexOf(subject);
            at = next < 0 ? -1 : at + 1 + next;
        }
        return count;
    }

    /// <summary>Waits (at most 60 s) until the mailbox matches the outcomes (<see cref="SmtplibLoad.Verify"/>) and the spool
    /// is empty, settles a second (a duplicate would show now) and checks again.</summary>
    private static async Task WaitForDeliveryAsync(PostboteServer server, SmtplibLoad load, string summary, IReadOnlySet<string>? lost = null)
    {
        var clock = Stopwatch.StartNew();
        List<string> problems = load.Verify(server.Mailbox(Rcpt), lost);
        while (clock.Elapsed < TimeSpan.FromSeconds(60) && (problems.Count > 0 || server.SpoolFiles().Count > 0))
        {
            await Task.Delay(500);
            problems = load.Verify(server.Mailbox(Rcpt), lost);
        }
        if (problems.Count == 0)
        {
            await Task.Delay(1000);
            problems = load.Verify(server.Mailbox(Rcpt), lost);
        }
        var spool = server.SpoolFiles();
        Assert.True(problems.Count == 0 && spool.Count == 0,
            $"{problems.Count} problem(s) after {clock.Elapsed.TotalSeconds:F0} s ({summary}; {load.Summary()}), {spool.Count} left in the spool ({string.Join(", ", spool.Take(10))}):\n"
            + string.Join('\n', problems.Take(20)) + server.Diagnostics());
    }
}
