using System.Text;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;
using Postbote.Testing.Smtp;

namespace Postbote.IntegrationTests;

/// <summary>
/// <c>postbote queue delete|hold|… -</c> on hundreds of queued messages, IDs on standard input as a script would pipe
/// them from <c>queue list</c>: progress on standard error, a summary with the counts on standard output, and the queue
/// empty afterwards.
/// </summary>
public sealed class QueueBatchTests : IAsyncLifetime
{
    private const int Messages = 300;
    private readonly PostboteServer server = new(new ServerOptions { TrustedNetworks = ["127.0.0.1/32"], TlsEnabled = false }, "batch");

    public Task InitializeAsync() => server.StartAsync();

    public Task DisposeAsync() => server.DisposeAsync().AsTask();

    private async Task<ExternalProcess.Result> QueueAsync(string stdin, params string[] args) =>
        await ExternalProcess.RunAsync("dotnet", [RepoLayout.ServerDll, "queue", .. args, "--config", server.ConfigPath],
            TimeSpan.FromMinutes(5), server.TempDir, Encoding.ASCII.GetBytes(stdin));

    [Fact]
    public async Task DeletingHundredsFromStandardInputShowsProgressAndASummary()
    {
        using (SmtpConnection smtp = await SmtpConnection.ConnectAsync(server.Port))
        {
            await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
            for (int i = 0; i < Messages; i++)
            {
                var reply = await SmtpDialog.SendMailAsync(smtp, "a@example.org", ["bob@remote.example"],
                    SmtpDialog.SampleMessage("batch-" + i, to: "bob@remote.example"), ehlo: false);
                Assert.StartsWith("250", reply.Text, StringComparison.Ordinal);
            }
        }
        var list = await QueueAsync("", "list");
        string[] ids = Regex.Matches(list.StandardOutput, @"^([0-9A-Z]{16}) ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(Messages, ids.Length);

        // Holding them all first: a second kind of request through the same path.
        var hold = await QueueAsync(string.Join('\n', ids) + "\n", "hold", "-");
        Assert.True(hold.ExitCode == 0, hold.Output);
        Assert.Matches($@"^hold: {Messages} done, 0 not in the queue, 0 refused, 0 failed \({Messages} IDs in \d+\.\d s\)\n$", hold.StandardOutput);

        var delete = await QueueAsync(string.Join('\n', ids) + "\n0000000000000000\n", "delete", "-");

        Assert.Equal(1, delete.ExitCode);
        Assert.Matches($@"^delete: {Messages} done, 1 not in the queue, 0 refused, 0 failed \({Messages + 1} IDs in \d+\.\d s\)\n$", delete.StandardOutput);
        string[] progress = delete.StandardError.Split('\n').Where(l => l.StartsWith("postbote: delete: ", StringComparison.Ordinal)).ToArray();
        Assert.Equal($"postbote: delete: {Messages + 1}/{Messages + 1} (100%)", progress[^1]);
        var after = await QueueAsync("", "list");
        Assert.Equal("queue is empty\n", after.StandardOutput);
    }

    [Fact]
    public async Task AWordThatIsNoQueueIdStopsTheBatchBeforeAnythingIsDone()
    {
        var r = await QueueAsync("0000000000000000\nnot-an-id\n", "delete", "-");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("postbote: \"not-an-id\" is not a queue ID", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("; nothing done", r.StandardError, StringComparison.Ordinal);
        Assert.Equal("", r.StandardOutput);
    }
}
