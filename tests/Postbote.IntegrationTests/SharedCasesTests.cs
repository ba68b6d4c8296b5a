using System.Globalization;
using System.Text;
using System.Text.Json;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>The black-box cases in ../shared/cases, played by their own runner against a server set up as they ask.</summary>
public sealed class SharedCasesTests
{
    /// <summary>The cases in which the runner plays the next hop for example.net (<c>--downstream-port</c>); they run in
    /// <see cref="TheRelayCasesPassWithTheRunnerAsTheNextHop"/>, against a server that routes example.net to it.</summary>
    public static IReadOnlyList<string> RelayCases { get; } = ["C16", "C17", "C18"];

    /// <summary>The account the cases authenticate as (README: "Account alice@example.com, password s3cret").</summary>
    private const string CaseUser = "alice@example.com";

    private const string CasePassword = "s3cret";

    [Fact]
    public async Task EveryCaseWithoutANextHopPasses()
    {
        var runner = Path.Combine(RepoLayout.CasesDir, "run-cases");
        var caseFile = Path.Combine(RepoLayout.CasesDir, "cases.json");
        Assert.True(File.Exists(runner), $"case runner not found at {runner}; set POSTBOTE_SHARED to the shared folder");
        using var cases = JsonDocument.Parse(await File.ReadAllTextAsync(caseFile));
        var ids = cases.RootElement.EnumerateArray()
            .Select(c => c.GetProperty("id").GetString()!)
            .Where(id => !RelayCases.Contains(id))
            .ToList();
        Assert.NotEmpty(ids);

        // STARTTLS and AUTH on the MX port (the cases' --tls-port is the same port), no trusted networks, the case user
        // added with the command line before the start.
        await using var server = new PostboteServer(new ServerOptions { MessageSize = 1048576, TrustedNetworks = [] }, "cases");
        await server.AddUserAsync(CaseUser, CasePassword);
        await server.StartAsync();
        var result = await RunCasesAsync(server, ids, []);
        Assert.Contains($"{ids.Count} passed, 0 failed\n", result.StandardOutput.Replace("\r", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    /// <summary>
    /// C16-C18 with the runner as example.net's next hop: the README's set-up routes example.net to
    /// 127.0.0.1:&lt;downstream-port&gt; by a static route (<c>[relay.transports]</c>), retries within 60 s (retry interval
    /// 15 s), sends no delay notice in the first minute (the default is 4 h), and DSNs for alice go to her local mailbox.
    /// </summary>
    [Fact]
    public async Task TheRelayCasesPassWithTheRunnerAsTheNextHop()
    {
        int downstream = FreePorts.Next();
        await using var server = new PostboteServer(new ServerOptions
        {
            MessageSize = 1048576,
            TrustedNetworks = [],
            RetryIntervalSeconds = 15,
            Transports = new Dictionary<string, string> { ["example.net"] = $"smtp:[127.0.0.1]:{downstream}" },
        }, "relay-cases");
        await server.AddUserAsync(CaseUser, CasePassword);
        await server.StartAsync();
        var result = await RunCasesAsync(server, RelayCases, ["--downstream-port", downstream.ToString(CultureInfo.InvariantCulture)]);
        Assert.Contains($"{RelayCases.Count} passed, 0 failed\n", result.StandardOutput.Replace("\r", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    private static async Task<ExternalProcess.Result> RunCasesAsync(PostboteServer server, IReadOnlyList<string> ids, IReadOnlyList<string> extra)
    {
        var runner = Path.Combine(RepoLayout.CasesDir, "run-cases");
        Assert.True(File.Exists(runner), $"case runner not found at {runner}; set POSTBOTE_SHARED to the shared folder");
        var report = Path.Combine(server.TempDir, "cases-report.json");
        var result = await ExternalProcess.RunAsync(
            "python3",
            [
                runner, "--host", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture),
                "--maildir-root", server.MaildirRoot, "--json-report", report, "--only", string.Join(',', ids), .. extra,
            ],
            TimeSpan.FromMinutes(6));

        var message = new StringBuilder($"run-cases exited {result.ExitCode} (cases: {string.Join(',', ids)})\n{result.Output}");
        if (File.Exists(report))
        {
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
            foreach (var entry in json.RootElement.GetProperty("cases").EnumerateArray())
            {
                if (entry.GetProperty("result").GetString() == "pass")
                {
                    continue;
                }

                message.Append(CultureInfo.InvariantCulture, $"\n--- {entry.GetProperty("id").GetString()}: {entry.GetProperty("detail")} ---\n");
                foreach (var line in entry.GetProperty("transcript").EnumerateArray())
                {
                    var text = line.GetString() ?? string.Empty;
                    message.Append(text.Length > 400 ? text[..400] + "…" : text).Append('\n');
                }
            }
        }

        message.Append(server.Diagnostics(80));
        Assert.True(result.ExitCode == 0, message.ToString());
        return result;
    }
}
