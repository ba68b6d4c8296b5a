using System.Globalization;
using System.Text;
using System.Text.Json;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>The black-box cases in ../shared/cases, played by their own runner against a server set up as they ask.</summary>
public sealed class SharedCasesTests
{
    /// <summary>
    /// Cases left out of this run, each with the reason. Everything else in cases.json runs and must pass.
    /// </summary>
    public static IReadOnlyDictionary<string, string> NotRun { get; } = new Dictionary<string, string>
    {
        ["C03"] = "needs STARTTLS (pipelined commands after STARTTLS)",
        ["C06"] = "needs STARTTLS (MAIL parameters after the TLS handshake)",
        ["C13"] = "needs STARTTLS and AUTH PLAIN/LOGIN",
        ["C14"] = "needs STARTTLS and AUTH PLAIN",
        ["C16"] = "needs STARTTLS, AUTH and relaying to a next hop (--downstream-port)",
        ["C17"] = "needs STARTTLS, AUTH and relaying to a next hop (--downstream-port)",
        ["C18"] = "needs STARTTLS, AUTH and relaying to a next hop (--downstream-port)",
    };

    [Fact]
    public async Task EveryCaseWithoutTlsAuthOrRelayPasses()
    {
        var runner = Path.Combine(RepoLayout.CasesDir, "run-cases");
        var caseFile = Path.Combine(RepoLayout.CasesDir, "cases.json");
        Assert.True(File.Exists(runner), $"case runner not found at {runner}; set POSTBOTE_SHARED to the shared folder");
        using var cases = JsonDocument.Parse(await File.ReadAllTextAsync(caseFile));
        var ids = cases.RootElement.EnumerateArray()
            .Select(c => c.GetProperty("id").GetString()!)
            .Where(id => !NotRun.ContainsKey(id))
            .ToList();
        Assert.NotEmpty(ids);

        await using var server = await PostboteServer.StartNewAsync(new ServerOptions { MessageSize = 1048576 }, "cases");
        var report = Path.Combine(server.TempDir, "cases-report.json");
        var result = await ExternalProcess.RunAsync(
            "python3",
            [
                runner, "--host", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture),
                "--maildir-root", server.MaildirRoot, "--json-report", report, "--only", string.Join(',', ids),
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
        Assert.Contains($"{ids.Count} passed, 0 failed\n", result.StandardOutput.Replace("\r", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }
}
