using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>Python's smtplib on the submission port: starttls() with the certificate checked, login(), sendmail().</summary>
public sealed partial class SmtplibAuthTests(TlsAuthServerFixture fixture) : IClassFixture<TlsAuthServerFixture>
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Scripts", "smtplib_auth.py");

    private PostboteServer Server => fixture.Server;

    [Theory]
    [InlineData("default")]
    [InlineData("LOGIN")]
    public async Task StartTlsAndLoginDeliver(string mechanism)
    {
        var marker = SmtpDialog.NewMarker($"smtplib-auth-{mechanism}");
        var expected = SmtpDialog.SampleMessage(marker, from: TlsAuthServerFixture.Alice, to: "rcpt@example.com");
        var (result, context) = await RunAsync(TlsAuthServerFixture.AlicePassword, mechanism, expected);
        Assert.True(result.ExitCode == 0, $"smtplib failed{context}{Server.Diagnostics()}");
        using var json = JsonDocument.Parse(result.StandardOutput.Trim());
        Assert.Equal(235, json.RootElement.GetProperty("login")[0].GetInt32());
        Assert.StartsWith("2.7.0 ", json.RootElement.GetProperty("login")[1].GetString(), StringComparison.Ordinal);
        // smtplib negotiates TLS 1.3, where -PLUS is not offered by default.
        Assert.Equal("TLSv1.3", json.RootElement.GetProperty("tls").GetString());
        Assert.Equal("SCRAM-SHA-256 PLAIN LOGIN", json.RootElement.GetProperty("offered").GetString()?.Trim());

        var queued = QueuedAs().Match(result.StandardError);
        Assert.True(queued.Success, $"no '250 2.0.0 Ok: queued as ID' reply to the end of data{context}");
        var traced = await DeliveryAssert.DeliveredOnceAsync(
            Server, "rcpt@example.com", marker, expected, TlsAuthServerFixture.Alice, SmtpDialog.QueueId(queued.Value), context);
        Assert.Contains(" with ESMTPSA id ", traced.Received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongPasswordIsRefusedWith535()
    {
        var marker = SmtpDialog.NewMarker("smtplib-wrong");
        var expected = SmtpDialog.SampleMessage(marker, from: TlsAuthServerFixture.Alice, to: "rcpt@example.com");
        var (result, context) = await RunAsync("S3CRET", "default", expected);
        Assert.True(result.ExitCode == 3, $"expected an authentication failure (exit 3){context}");
        using var json = JsonDocument.Parse(result.StandardOutput.Trim());
        Assert.Equal(535, json.RootElement.GetProperty("auth_error")[0].GetInt32());
        Assert.StartsWith("5.7.8 ", json.RootElement.GetProperty("auth_error")[1].GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("send: 'mail FROM", result.StandardError, StringComparison.OrdinalIgnoreCase);
        await Task.Delay(300);
        Assert.Null(Server.Mailbox("rcpt@example.com").Messages().FirstOrDefault(m => m.Contains(marker)));
    }

    private async Task<(ExternalProcess.Result Result, string Context)> RunAsync(string password, string mechanism, byte[] content)
    {
        var file = Path.Combine(Server.TempDir, Guid.NewGuid().ToString("N") + ".eml");
        await File.WriteAllBytesAsync(file, content);
        var result = await ExternalProcess.RunAsync(
            "python3",
            [
                Script, Server.SubmissionPort.ToString(CultureInfo.InvariantCulture), fixture.CaFile, SmtpConnection.ServerName,
                TlsAuthServerFixture.Alice, password, mechanism, TlsAuthServerFixture.Alice, "rcpt@example.com", file,
            ],
            TimeSpan.FromSeconds(60));
        return (result, $"\n--- smtplib (exit {result.ExitCode}) ---\n{result.Output}");
    }

    [GeneratedRegex(@"reply: b'250 2\.0\.0 Ok: queued as [^\\']+")]
    private static partial Regex QueuedAs();
}
