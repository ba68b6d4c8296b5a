using System.Globalization;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// swaks with STARTTLS (--tls) on the MX and submission ports and implicit TLS (--tls-on-connect) on the submissions
/// port, authenticating with AUTH PLAIN and AUTH LOGIN (RFC 4954).
/// </summary>
public sealed partial class SwaksTlsAuthTests(TlsAuthServerFixture fixture) : IClassFixture<TlsAuthServerFixture>
{
    private PostboteServer Server => fixture.Server;

    [Theory]
    [InlineData("mx", "PLAIN")]
    [InlineData("mx", "LOGIN")]
    [InlineData("submission", "PLAIN")]
    [InlineData("submission", "LOGIN")]
    [InlineData("submissions", "PLAIN")]
    [InlineData("submissions", "LOGIN")]
    public async Task AuthenticatedMessageIsDeliveredWithEsmtpsa(string listener, string mechanism)
    {
        var marker = SmtpDialog.NewMarker($"swaks-{listener}-{mechanism}");
        var (result, context) = await RunSwaksAsync(
            listener, mechanism, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword, "rcpt@example.com", marker);
        Assert.True(result.ExitCode == 0, $"swaks failed{context}{Server.Diagnostics()}");
        Assert.Matches(AuthSucceeded(), result.StandardOutput);
        var queued = QueuedAs().Match(result.StandardOutput);
        Assert.True(queued.Success, $"no '250 2.0.0 Ok: queued as ID' reply to the end of data{context}");

        var message = await Server.Mailbox("rcpt@example.com").WaitForMessageContainingAsync(marker, TimeSpan.FromSeconds(20));
        Assert.True(message is not null, $"{marker} not delivered\n{Server.Mailbox("rcpt@example.com").Describe()}{context}");
        var traced = message.SplitTrace();
        Assert.Equal($"Return-Path: <{TlsAuthServerFixture.Alice}>\r\n", traced.ReturnPath);
        Assert.Matches(@"\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)", traced.Received);
        Assert.Matches($@"\bby mx\.test with ESMTPSA id {Regex.Escape(queued.Groups[1].Value)}\b", traced.Received);
    }

    [Theory]
    [InlineData("submission", "PLAIN")]
    [InlineData("submissions", "LOGIN")]
    [InlineData("mx", "LOGIN")]
    public async Task AuthenticatedMailForAForeignDomainIsAcceptedAndStaysQueued(string listener, string mechanism)
    {
        var marker = SmtpDialog.NewMarker($"swaks-relay-{listener}");
        var recipient = $"{marker}@example.net";
        var (result, context) = await RunSwaksAsync(
            listener, mechanism, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword, recipient, marker);
        Assert.True(result.ExitCode == 0, $"swaks failed{context}{Server.Diagnostics()}");
        Assert.Matches($@"(?m)^<~  250 2\.1\.5 .*\r?\n(.*\r?\n)*?<~  354 ", result.StandardOutput);
        var queued = QueuedAs().Match(result.StandardOutput);
        Assert.True(queued.Success, $"no '250 2.0.0 Ok: queued as ID' reply to the end of data{context}");

        // No outbound SMTP yet: the message waits in the queue, with its foreign recipient.
        var list = await Server.QueueListAsync();
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.Matches($@"(?m)^{Regex.Escape(queued.Groups[1].Value)} .* <?{Regex.Escape(TlsAuthServerFixture.Alice)}>?\s*$", list.StandardOutput);
        Assert.Matches($@"(?m)^\s+<{Regex.Escape(recipient)}> \(", list.StandardOutput);
    }

    [Theory]
    [InlineData("mx", "PLAIN")]
    [InlineData("submission", "LOGIN")]
    [InlineData("submissions", "PLAIN")]
    public async Task WrongPasswordGets535AndNothingIsQueued(string listener, string mechanism)
    {
        var marker = SmtpDialog.NewMarker($"swaks-wrong-{listener}");
        var recipient = $"{marker}@example.net";
        var (result, context) = await RunSwaksAsync(listener, mechanism, TlsAuthServerFixture.Alice, "not-" + TlsAuthServerFixture.AlicePassword, recipient, marker);
        Assert.True(result.ExitCode != 0, $"swaks succeeded with a wrong password{context}");
        Assert.Matches(@"(?m)^<~\* 535 5\.7\.8 ", result.StandardOutput);
        Assert.DoesNotContain("MAIL FROM:", result.StandardOutput, StringComparison.Ordinal);

        var list = await Server.QueueListAsync();
        Assert.True(list.ExitCode == 0, list.Output);
        Assert.DoesNotContain(recipient, list.StandardOutput, StringComparison.Ordinal);
    }

    private async Task<(ExternalProcess.Result Result, string Context)> RunSwaksAsync(
        string listener, string mechanism, string user, string password, string to, string marker)
    {
        var (port, tls) = listener switch
        {
            "mx" => (Server.Port, "--tls"),
            "submission" => (Server.SubmissionPort, "--tls"),
            "submissions" => (Server.SubmissionsPort, "--tls-on-connect"),
            _ => throw new ArgumentOutOfRangeException(nameof(listener)),
        };
        List<string> args =
        [
            "--server", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), tls,
            "--helo", "client.test", "--from", user, "--to", to,
            "--auth", mechanism, "--auth-user", user, "--auth-password", password,
            "--header", $"Subject: {marker}", "--body", $"body of {marker}",
            "--timeout", "30",
        ];
        var result = await ExternalProcess.RunAsync("swaks", args, TimeSpan.FromSeconds(60));
        return (result, $"\n--- swaks {string.Join(' ', args)} (exit {result.ExitCode}) ---\n{result.Output}");
    }

    [GeneratedRegex(@"(?m)^<~  235 2\.7\.0 ")]
    private static partial Regex AuthSucceeded();

    [GeneratedRegex(@"(?m)^<~  250 2\.0\.0 Ok: queued as (\S+)")]
    private static partial Regex QueuedAs();
}
