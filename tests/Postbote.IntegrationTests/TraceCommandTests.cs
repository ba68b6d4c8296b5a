using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary><c>postbote trace</c> on the built server: a message relayed to a scripted receiver (aiosmtpd) that answers
/// 451, 451, then 250, with a one-second retry interval. The trace shows every attempt in order, by queue ID and by
/// Message-ID, through the running server, from the files with the server stopped, and again after a restart.</summary>
public sealed class TraceCommandTests
{
    [Fact]
    public async Task MessageDeferredTwiceThenDeliveredShowsEveryAttemptInOrderAlsoAfterARestart()
    {
        string dir = Directory.CreateTempSubdirectory("postbote-trace-it-").FullName;
        string capture = Path.Combine(dir, "capture.jsonl");
        try
        {
            using var receiver = await ScriptPeer.StartAsync("aiosmtpd_scripted.py", "127.0.0.1", capture,
                "451 4.3.0 first refusal", "451 4.3.0 second refusal", "250 2.0.0 taken at last");
            var options = new ServerOptions
            {
                TrustedNetworks = ["127.0.0.0/8"],
                Smarthost = $"[127.0.0.1]:{receiver.Port}",
                RetryIntervalSeconds = 1,
            };
            await using var server = await PostboteServer.StartNewAsync(options, "trace");
            string messageId = $"trace-{Guid.NewGuid():N}@client.test";
            string file = Path.Combine(dir, "message.eml");
            await File.WriteAllTextAsync(file, $"From: <a@example.org>\r\nTo: <bob@remote.test>\r\nMessage-ID: <{messageId}>\r\nSubject: trace\r\n\r\nhello");
            var swaks = await ExternalProcess.RunAsync("swaks",
                ["--server", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture), "--helo", "client.test",
                 "--from", "a@example.org", "--to", "bob@remote.test", "--data", "@" + file, "--timeout", "30"], TimeSpan.FromSeconds(60));
            Assert.True(swaks.ExitCode == 0, swaks.Output + server.Diagnostics());
            string id = Regex.Match(swaks.StandardOutput, "queued as ([0-9A-Z]{16})").Groups[1].Value;
            Assert.Equal(16, id.Length);
            Assert.True(await server.WaitForLogAsync($"{id}: removed", 1, TimeSpan.FromSeconds(60)), server.Diagnostics());
            Assert.Equal(3, (await File.ReadAllLinesAsync(capture)).Length);

            var running = await server.RunCliAsync("trace", id);
            Assert.True(running.ExitCode == 0, running.Output);
            Assert.Contains("through the running server", running.StandardError, StringComparison.Ordinal);
            string[] lines = running.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            string host = $"[127.0.0.1]:{receiver.Port}";
            // The whole life, in order: received, the RCPT decision, the commit, three attempts, removal.
            Assert.Equal(["received", "policy", "committed", "attempt", "attempt", "attempt", "removed"], lines.Select(Kind));
            Assert.All(lines, l => Assert.Contains("  " + id + "  ", l, StringComparison.Ordinal));
            Assert.Contains($"client=127.0.0.1, helo=client.test, message-id=<{messageId}>, from=<a@example.org>, to=<bob@remote.test>", lines[0], StringComparison.Ordinal);
            string[] attempts = lines.Where(l => Kind(l) == "attempt").ToArray();
            Assert.Matches($@"rcpt=<bob@remote\.test>, attempt=1, host=[^,]*{Regex.Escape(host)}, delay=[0-9.]+, result=deferred, reply=451 4\.3\.0 first refusal$", attempts[0]);
            Assert.Matches($@"rcpt=<bob@remote\.test>, attempt=2, host=[^,]*{Regex.Escape(host)}, delay=[0-9.]+, result=deferred, reply=451 4\.3\.0 second refusal$", attempts[1]);
            Assert.Matches($@"rcpt=<bob@remote\.test>, attempt=3, host=[^,]*{Regex.Escape(host)}, delay=[0-9.]+, result=delivered, reply=250 2\.0\.0 taken at last$", attempts[2]);
            double[] delays = attempts.Select(a => double.Parse(Regex.Match(a, @"delay=([0-9.]+)").Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
            Assert.True(delays[0] < delays[1] && delays[1] < delays[2], string.Join(" ", delays));
            Assert.EndsWith("reason=every recipient final", lines[^1], StringComparison.Ordinal);

            // The same by Message-ID, with and without angle brackets.
            Assert.Equal(running.StandardOutput, (await server.RunCliAsync("trace", $"<{messageId}>")).StandardOutput);
            Assert.Equal(running.StandardOutput, (await server.RunCliAsync("trace", messageId)).StandardOutput);

            // --json: one object per line, the same events.
            var json = await server.RunCliAsync("trace", id, "--json");
            Assert.True(json.ExitCode == 0, json.Output);
            var objects = json.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
            Assert.Equal(["received", "policy", "committed", "attempt", "attempt", "attempt", "removed"], objects.Select(o => o.GetProperty("kind").GetString()));
            Assert.Equal([1, 2, 3], objects.Where(o => o.GetProperty("kind").GetString() == "attempt").Select(o => o.GetProperty("attempt").GetInt32()));
            Assert.Equal($"<{messageId}>", objects[0].GetProperty("message_id").GetString());

            // Stopped: read from the files, the same text.
            Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
            var stopped = await server.RunCliAsync("trace", id.ToLowerInvariant());
            Assert.True(stopped.ExitCode == 0, stopped.Output);
            Assert.Contains("the server is not running", stopped.StandardError, StringComparison.Ordinal);
            Assert.Equal(running.StandardOutput, stopped.StandardOutput);

            // On a terminal (script(1) gives it one), reading the files shows progress, then the summary.
            var tty = await ExternalProcess.RunAsync("script", ["-q", "-e", "-c",
                $"dotnet {PostboteCli.Quote(RepoLayout.ServerDll)} trace {id} --config {PostboteCli.Quote(server.ConfigPath)} >/dev/null", "/dev/null"],
                TimeSpan.FromSeconds(60), server.TempDir);
            Assert.True(tty.ExitCode == 0, tty.Output);
            Assert.Contains("reading the trace: 50% (", tty.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("reading the trace: 100% (", tty.StandardOutput, StringComparison.Ordinal);
            Assert.Contains($"postbote: 7 event(s) of 1 message(s); read 1 segment(s), ", tty.StandardOutput, StringComparison.Ordinal);

            // Started again: through the new server, still the same.
            await server.StartAsync();
            var restarted = await server.RunCliAsync("trace", id);
            Assert.True(restarted.ExitCode == 0, restarted.Output);
            Assert.Contains("through the running server", restarted.StandardError, StringComparison.Ordinal);
            Assert.Equal(running.StandardOutput, restarted.StandardOutput);

            // Nothing known: exit 1; not a query: exit 2.
            Assert.Equal(1, (await server.RunCliAsync("trace", "<nobody@nowhere.test>")).ExitCode);
            Assert.Equal(2, (await server.RunCliAsync("trace", "two words")).ExitCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Kind(string line) => line.Split("  ", 4, StringSplitOptions.None)[2].Trim().Split(' ')[0];
}
