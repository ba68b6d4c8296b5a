using System.Globalization;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary><c>/metrics</c> on the admin listener of the built server: Debian's <c>promtool check metrics</c> accepts the
/// output, and the counters move by exactly what the mail that flowed between two scrapes did.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task PromtoolAcceptsTheMetricsAndCountersMoveByExactlyTheMailThatFlowed()
    {
        int adminPort = FreePorts.Next();
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions { AdminPort = adminPort }, "metrics");
        string url = $"http://127.0.0.1:{adminPort}/metrics";
        string before = await ScrapeAndCheckAsync(url);

        for (int i = 0; i < 2; i++)
        {
            var sent = await Swaks(server, "rcpt@example.com");
            Assert.True(sent.ExitCode == 0, sent.Output + server.Diagnostics());
        }
        var refused = await Swaks(server, "nosuchuser@example.com");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.True(await server.WaitForLogAsync("status=sent", 2, TimeSpan.FromSeconds(30)), server.Diagnostics());
        await Task.Delay(300);
        string after = await ScrapeAndCheckAsync(url);

        long Delta(string series) => Value(after, series) - Value(before, series);
        Assert.Equal(2, Delta("postbote_messages_accepted_total{"));
        Assert.Equal(3, Delta("postbote_smtp_sessions_total{"));
        Assert.Equal(2, Delta("postbote_delivery_attempts_total{*result=\"delivered\"}"));
        Assert.Equal(2, Delta("postbote_spool_commit_duration_seconds_count{"));
        Assert.Equal(2, Delta("postbote_delivery_duration_seconds_count{"));
        Assert.Equal(1, Delta("postbote_messages_refused_total{*reason=\"policy_rcpt\"}"));
        Assert.Equal(1, Delta("postbote_smtp_replies_total{*class=\"5xx\"}"));
        // Two DATA transactions: 354 each.
        Assert.Equal(2, Delta("postbote_smtp_replies_total{*class=\"3xx\"}"));
        Assert.Equal(0, Value(after, "postbote_queue_size{*state=\"deferred\"}"));
    }

    private static Task<ExternalProcess.Result> Swaks(PostboteServer server, string to) =>
        ExternalProcess.RunAsync("swaks",
            ["--server", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture), "--helo", "client.test",
             "--from", "a@example.org", "--to", to, "--timeout", "30"], TimeSpan.FromSeconds(60));

    /// <summary>Fetches the metrics with curl and has promtool check them; returns the text.</summary>
    private static async Task<string> ScrapeAndCheckAsync(string url)
    {
        var curl = await ExternalProcess.RunAsync("curl", ["-sS", "--max-time", "10", "-D", "-", url], TimeSpan.FromSeconds(20));
        Assert.True(curl.ExitCode == 0, curl.Output);
        string[] parts = curl.StandardOutput.ReplaceLineEndings("\n").Split("\n\n", 2);
        Assert.StartsWith("HTTP/1.1 200", parts[0], StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/plain; version=0.0.4", parts[0], StringComparison.OrdinalIgnoreCase);
        string body = parts[1];
        var check = await ExternalProcess.RunAsync("promtool", ["check", "metrics"], TimeSpan.FromSeconds(20), null,
            System.Text.Encoding.UTF8.GetBytes(body));
        Assert.True(check.ExitCode == 0, check.Output + "\n" + body);
        return body;
    }

    /// <summary>The value of the one series whose line starts with the name part of <paramref name="series"/> and holds
    /// the label after <c>*</c>; 0 when the series is not there yet.</summary>
    private static long Value(string metrics, string series)
    {
        string[] parts = series.Split('*');
        string? line = metrics.Split('\n').SingleOrDefault(l => l.StartsWith(parts[0], StringComparison.Ordinal)
            && (parts.Length == 1 || l.Contains(parts[1].TrimEnd('}'), StringComparison.Ordinal)));
        if (line is null) return 0;
        return (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}
