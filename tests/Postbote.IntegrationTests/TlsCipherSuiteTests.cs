using System.Globalization;
using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// The cipher suites the server negotiates, seen by openssl s_client: AEAD suites only by default (testssl.sh flagged
/// the TLS 1.2 CBC suites .NET offers on its own, LUCKY13), the CBC and RSA key-exchange suites on MX listeners with
/// <c>[tls] legacy_ciphers_on_mx</c> (opportunistic TLS, RFC 7435), never on submission listeners; and the one log line
/// a failed handshake leaves, with the TLS library's own reason.
/// </summary>
public sealed class TlsCipherSuiteTests(RsaTlsServerFixture fixture, LegacyCiphersServerFixture legacy)
    : IClassFixture<RsaTlsServerFixture>, IClassFixture<LegacyCiphersServerFixture>
{
    /// <summary>The reason OpenSSL gives when client and server have no cipher suite in common.</summary>
    private const string NoSharedCipher = "error:0A0000C1:SSL routines::no shared cipher";

    /// <summary>
    /// The CBC suites are refused on the MX listener by default: ECDHE-RSA-AES128-SHA256 and -AES256-SHA384 were offered
    /// before (the two testssl.sh flagged), ECDHE-RSA-AES128-SHA and the RSA key-exchange suites never were.
    /// </summary>
    [Theory]
    [InlineData("ECDHE-RSA-AES128-SHA256")]
    [InlineData("ECDHE-RSA-AES256-SHA384")]
    [InlineData("ECDHE-RSA-AES128-SHA")]
    [InlineData("AES128-GCM-SHA256")]
    public async Task CbcAndRsaKeyExchangeSuitesAreRefusedByDefault(string cipher)
    {
        var result = await OpensslAsync(fixture, fixture.Server.Port, starttls: true, "-tls1_2", "-cipher", cipher);
        AssertRefused(result, fixture.Server);
    }

    [Theory]
    [InlineData("ECDHE-RSA-AES128-GCM-SHA256")]
    [InlineData("ECDHE-RSA-AES256-GCM-SHA384")]
    [InlineData("ECDHE-RSA-CHACHA20-POLY1305")]
    public async Task AeadSuitesAreAcceptedOnTls12(string cipher)
    {
        var result = await OpensslAsync(fixture, fixture.Server.Port, starttls: true, "-tls1_2", "-cipher", cipher);
        AssertEstablished(result, fixture.Server, "TLSv1.2", cipher);
    }

    [Theory]
    [InlineData("TLS_AES_128_GCM_SHA256")]
    [InlineData("TLS_AES_256_GCM_SHA384")]
    [InlineData("TLS_CHACHA20_POLY1305_SHA256")]
    public async Task Tls13IsAccepted(string suite)
    {
        var result = await OpensslAsync(fixture, fixture.Server.Port, starttls: true, "-tls1_3", "-ciphersuites", suite);
        AssertEstablished(result, fixture.Server, "TLSv1.3", suite);
    }

    /// <summary>With <c>legacy_ciphers_on_mx = true</c> the MX listener serves an old sender's CBC and RSA suites.</summary>
    [Theory]
    [InlineData("ECDHE-RSA-AES128-SHA")]
    [InlineData("ECDHE-RSA-AES128-SHA256")]
    [InlineData("AES128-SHA")]
    [InlineData("AES256-GCM-SHA384")]
    public async Task LegacySuitesAreAcceptedOnMxWithTheSetting(string cipher)
    {
        var result = await OpensslAsync(legacy, legacy.Server.Port, starttls: true, "-tls1_2", "-cipher", cipher);
        AssertEstablished(result, legacy.Server, "TLSv1.2", cipher);
    }

    /// <summary>The setting widens MX listeners only: submission (STARTTLS) and submissions (implicit TLS) stay AEAD.</summary>
    [Fact]
    public async Task SubmissionListenersStayAeadWithTheSetting()
    {
        AssertRefused(await OpensslAsync(legacy, legacy.Server.SubmissionPort, starttls: true, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"), legacy.Server);
        AssertRefused(await OpensslAsync(legacy, legacy.Server.SubmissionsPort, starttls: false, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"), legacy.Server);
        AssertEstablished(
            await OpensslAsync(legacy, legacy.Server.SubmissionPort, starttls: true, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"),
            legacy.Server, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256");
    }

    /// <summary>
    /// A failed handshake leaves exactly one information line, naming the client's address and port and OpenSSL's
    /// reason; it used to say only "Authentication failed, see inner exception".
    /// </summary>
    [Fact]
    public async Task FailedHandshakeLogsOneInformationLineWithTheReason()
    {
        var server = fixture.Server;
        int before = server.LogCount(NoSharedCipher);
        var result = await OpensslAsync(fixture, server.Port, starttls: true, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA");
        AssertRefused(result, server);
        Assert.True(await server.WaitForLogAsync(NoSharedCipher, before + 1, TimeSpan.FromSeconds(10)), "no log line" + server.Diagnostics(40));

        // The session ends with its disconnect line; nothing more about the handshake may follow it.
        var line = LastLine(server, NoSharedCipher);
        // The captured line starts with the harness's time and stream; the server's own line follows "out| ".
        var match = Regex.Match(line, @"out\| \S+ info Postbote\.Smtp \[session (\d+)\]: TLS handshake with 127\.0\.0\.1:(\d+) failed: " + Regex.Escape(NoSharedCipher) + "$");
        Assert.True(match.Success, $"unexpected line: {line}" + server.Diagnostics(40));
        var session = $"[session {match.Groups[1].Value}]";
        Assert.True(await server.WaitForLogAsync($"{session}: disconnect from 127.0.0.1:{match.Groups[2].Value}", 1, TimeSpan.FromSeconds(10)),
            "no disconnect line" + server.Diagnostics(40));
        Assert.Equal(before + 1, server.LogCount(NoSharedCipher));
        var sessionLines = server.LogTail(400).Split('\n').Where(l => l.Contains(session + ":", StringComparison.Ordinal)).ToList();
        Assert.True(sessionLines.Count(l => l.Contains("TLS", StringComparison.Ordinal)) == 1, string.Join('\n', sessionLines));
        Assert.Equal(0, server.LogCount("see inner exception"));
    }

    private static string LastLine(PostboteServer server, string text) =>
        server.LogTail(400).Split('\n').Last(l => l.Contains(text, StringComparison.Ordinal));

    private static void AssertRefused(ExternalProcess.Result result, PostboteServer server)
    {
        var context = $"\n--- openssl s_client (exit {result.ExitCode}) ---\n{result.Output}{server.Diagnostics(20)}";
        Assert.False(result.TimedOut, context);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("alert handshake failure", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Ciphersuite:", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("250", result.StandardOutput, StringComparison.Ordinal);
    }

    private static void AssertEstablished(ExternalProcess.Result result, PostboteServer server, string protocol, string cipher)
    {
        var context = $"\n--- openssl s_client (exit {result.ExitCode}) ---\n{result.Output}{server.Diagnostics(20)}";
        Assert.True(result.ExitCode == 0, context);
        Assert.Matches(@"(?m)^Protocol version: " + Regex.Escape(protocol) + @"\r?$", result.StandardError);
        Assert.Matches(@"(?m)^Ciphersuite: " + Regex.Escape(cipher) + @"\r?$", result.StandardError);
        Assert.Contains("Verification: OK", result.StandardError, StringComparison.Ordinal);

        // The EHLO inside TLS is answered and the session ends with 221.
        var text = result.StandardOutput.Replace("\r", string.Empty, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^250-mx\.test\n(250-.*\n)*250 .*\n221 2\.0\.0 Bye\n", text);
    }

    private static Task<ExternalProcess.Result> OpensslAsync(RsaTlsServerFixture server, int port, bool starttls, params string[] extra)
    {
        List<string> args = ["s_client"];
        if (starttls)
        {
            args.AddRange(["-starttls", "smtp"]);
        }

        args.AddRange(
        [
            "-connect", "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), "-servername", SmtpConnection.ServerName,
            "-CAfile", server.CaFile, "-verify_hostname", SmtpConnection.ServerName, "-verify_return_error",
            "-crlf", "-brief", "-ign_eof", .. extra,
        ]);
        return ExternalProcess.RunAsync("openssl", args, TimeSpan.FromSeconds(30), server.Server.TempDir, "EHLO client.test\nQUIT\n"u8.ToArray());
    }
}
