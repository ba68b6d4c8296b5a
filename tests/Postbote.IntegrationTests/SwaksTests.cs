using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>swaks, a widely used SMTP test client, delivers to a local Maildir.</summary>
public sealed class SwaksTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private PostboteServer Server => fixture.Server;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SwaksMessageIsStoredByteForByte(bool pipeline)
    {
        var marker = SmtpDialog.NewMarker(pipeline ? "swaks-pipelined" : "swaks");

        // swaks sends a --data file as it is, dot-stuffed, and ends it with CRLF: write it without the last CRLF.
        var expected = SmtpDialog.SampleMessage(marker);
        var file = Path.Combine(Server.TempDir, marker + ".eml");
        await File.WriteAllBytesAsync(file, expected[..^2]);
        List<string> args =
        [
            "--server", "127.0.0.1", "--port", Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--helo", "client.test", "--from", "a@example.org", "--to", "rcpt@example.com",
            "--data", "@" + file, "--timeout", "30",
        ];
        if (pipeline)
        {
            args.Add("--pipeline");
        }

        var result = await ExternalProcess.RunAsync("swaks", args, TimeSpan.FromSeconds(60));
        var context = $"\n--- swaks (exit {result.ExitCode}) ---\n{result.Output}";
        Assert.True(result.ExitCode == 0, $"swaks failed{context}{Server.Diagnostics()}");
        var queued = Regex.Match(result.StandardOutput, @"(?m)^<[-~*]*\s+250 2\.0\.0 Ok: queued as \S+");
        Assert.True(queued.Success, $"no '250 2.0.0 Ok: queued as ID' reply to the end of data{context}");

        await DeliveryAssert.DeliveredOnceAsync(
            Server, "rcpt@example.com", marker, expected, "a@example.org", SmtpDialog.QueueId(queued.Value), context);
    }
}
