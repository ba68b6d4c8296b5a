using System.Globalization;
using System.Text.Json;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// SCRAM-SHA-256-PLUS channel binding with clients that are not .NET: a SCRAM client on Python's ssl module
/// (tls-unique from <c>get_channel_binding</c>, RFC 5929 §3; tls-server-end-point, §4) and GNU gsasl. On TLS 1.2 -PLUS
/// is offered and both bindings authenticate; on TLS 1.3, where clients choose tls-exporter (RFC 9266) that .NET cannot
/// serve, -PLUS is offered only with <c>[auth] scram_plus_tls13</c>. The STARTTLS keyword is never the EHLO reply's last
/// line, where gsasl does not see it.
/// </summary>
public sealed class ChannelBindingTests(TlsAuthServerFixture fixture, ScramPlusTls13ServerFixture plusFixture)
    : IClassFixture<TlsAuthServerFixture>, IClassFixture<ScramPlusTls13ServerFixture>
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Scripts", "scram_plus.py");

    [Theory]
    [InlineData("tls-unique", 12)]             // TLS 1.2 Finished verify_data: 12 octets (RFC 5246 §7.4.9)
    [InlineData("tls-server-end-point", 32)]   // SHA-256 of the certificate
    public async Task PythonScramPlusAuthenticatesOnTls12(string binding, int bindingLength)
    {
        var (result, json, context) = await PythonAsync(fixture, "1.2", binding);
        Assert.True(result.ExitCode == 0, "SCRAM-SHA-256-PLUS failed" + context);
        Assert.Equal("TLSv1.2", json.GetProperty("tls").GetString());
        Assert.Equal("SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN", json.GetProperty("offered").GetString());
        Assert.Equal(bindingLength, json.GetProperty("cb_len").GetInt32());
        Assert.Equal(235, json.GetProperty("auth")[0].GetInt32());
        Assert.Equal("2.7.0 Authentication successful", json.GetProperty("auth")[1].GetString());
    }

    [Fact]
    public async Task PlusIsNotOfferedOnTls13ByDefault()
    {
        var (result, json, context) = await PythonAsync(fixture, "1.3", "tls-server-end-point");
        Assert.True(result.ExitCode == 4, "expected -PLUS not to be offered (exit 4)" + context);
        Assert.Equal("TLSv1.3", json.GetProperty("tls").GetString());
        Assert.Equal("SCRAM-SHA-256 PLAIN LOGIN", json.GetProperty("offered").GetString());
    }

    [Fact]
    public async Task WithTheSettingPlusIsOfferedOnTls13AndServerEndPointAuthenticates()
    {
        var (result, json, context) = await PythonAsync(plusFixture, "1.3", "tls-server-end-point");
        Assert.True(result.ExitCode == 0, "SCRAM-SHA-256-PLUS failed" + context);
        Assert.Equal("TLSv1.3", json.GetProperty("tls").GetString());
        Assert.Equal("SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN", json.GetProperty("offered").GetString());
        Assert.Equal(235, json.GetProperty("auth")[0].GetInt32());
    }

    /// <summary>gsasl with -PLUS forced over TLS 1.2: it binds with tls-unique, which failed with 535 5.7.8 while the server
    /// took .NET's whole channel-binding block (header and "tls-unique:" label) for the binding data.</summary>
    [Fact]
    public async Task GsaslScramPlusWithTlsUniqueAuthenticatesOnTls12()
    {
        var result = await GsaslAsync(fixture.Server, "--mechanism=SCRAM-SHA-256-PLUS", "--priority=NORMAL:-VERS-TLS1.3");
        var context = $"\n--- gsasl (exit {result.ExitCode}) ---\n{result.Output}{fixture.Server.Diagnostics(40)}";
        Assert.True(result.ExitCode == 0, "gsasl did not authenticate" + context);
        // gsasl sees STARTTLS only on a "250-" line: it must not be the EHLO reply's last one.
        Assert.True(result.Output.Contains("250-mx.test\n250-STARTTLS\n", StringComparison.Ordinal), "STARTTLS not first" + context);
        Assert.True(result.Output.Contains("AUTH SCRAM-SHA-256-PLUS ", StringComparison.Ordinal), "not SCRAM-SHA-256-PLUS" + context);
        Assert.True(result.Output.Contains("235 2.7.0 Authentication successful", StringComparison.Ordinal), "no 235" + context);
    }

    /// <summary>
    /// RFC 5802 §6: "y" says the client could bind but thinks the server cannot. On TLS 1.3, where no binding is served
    /// and -PLUS is not offered, that is the truth and SCRAM-SHA-256 authenticates: it is the gs2 header gsasl 2.2.0
    /// means to send there (it fails on its own side first, see <see cref="GsaslWithoutBindingDataUsesScramSha256OnTls13"/>).
    /// </summary>
    [Fact]
    public async Task FlagYAuthenticatesOnTls13WhereNoBindingIsServed()
    {
        var (result, json, context) = await PythonAsync(fixture, "1.3", "y");
        Assert.True(result.ExitCode == 0, "SCRAM-SHA-256 with flag y failed" + context);
        Assert.Equal("TLSv1.3", json.GetProperty("tls").GetString());
        Assert.Equal(235, json.GetProperty("auth")[0].GetInt32());
        Assert.Equal("2.7.0 Authentication successful", json.GetProperty("auth")[1].GetString());
    }

    /// <summary>RFC 5802 §6: "If the flag is set to "y" and the server supports channel binding, the server MUST fail
    /// authentication": on TLS 1.2, where -PLUS is offered, "y" is a downgrade.</summary>
    [Fact]
    public async Task FlagYFailsOnTls12WherePlusIsOffered()
    {
        var (result, json, context) = await PythonAsync(fixture, "1.2", "y");
        Assert.True(result.ExitCode == 3, "flag y was not refused" + context);
        Assert.Equal(535, json.GetProperty("auth")[0].GetInt32());
    }

    /// <summary>
    /// gsasl 2.2.0 with default settings over TLS 1.3 picks SCRAM-SHA-256 and stops after the server's "334 " with
    /// "mechanism error: Error authenticating user" before it sends anything: given channel-binding data by GnuTLS, its
    /// SCRAM client sets the flag "y" together with a binding name, which its own check of the client-first message
    /// refuses (lib/scram/client.c, validate.c). Without binding data (--no-cb) it sends "n,," and authenticates.
    /// </summary>
    [Fact]
    public async Task GsaslWithoutBindingDataUsesScramSha256OnTls13()
    {
        var result = await GsaslAsync(fixture.Server, "--no-cb");
        var context = $"\n--- gsasl (exit {result.ExitCode}) ---\n{result.Output}{fixture.Server.Diagnostics(40)}";
        Assert.True(result.ExitCode == 0, "gsasl did not authenticate" + context);
        Assert.Contains("TLS session info: (TLS1.3)", result.Output, StringComparison.Ordinal);
        Assert.Contains("250 AUTH SCRAM-SHA-256 PLAIN LOGIN\n", result.Output, StringComparison.Ordinal);
        Assert.Contains("\nAUTH SCRAM-SHA-256\n334 \n", result.Output, StringComparison.Ordinal);
        Assert.Contains("235 2.7.0 Authentication successful", result.Output, StringComparison.Ordinal);
    }

    private static async Task<ExternalProcess.Result> GsaslAsync(PostboteServer server, params string[] extra)
    {
        List<string> args =
        [
            "--smtp", "--verbose", "--connect", $"127.0.0.1:{server.SubmissionPort.ToString(CultureInfo.InvariantCulture)}",
            // gsasl checks the certificate against the address it connected to (127.0.0.1; no resolver in tests), which
            // the test certificate for mx.test cannot match: an empty CA file lets it go on (the binding is what is tested).
            "--hostname", SmtpConnection.ServerName, "--x509-ca-file=",
            "-a", TlsAuthServerFixture.Alice, "-p", TlsAuthServerFixture.AlicePassword, .. extra,
        ];
        return await ExternalProcess.RunAsync("gsasl", args, TimeSpan.FromSeconds(60), standardInput: []);
    }

    private static async Task<(ExternalProcess.Result Result, JsonElement Json, string Context)> PythonAsync(
        TlsAuthServerFixture server, string tlsVersion, string binding)
    {
        var result = await ExternalProcess.RunAsync(
            "python3",
            [
                Script, server.Server.SubmissionPort.ToString(CultureInfo.InvariantCulture), server.CaFile,
                TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword, tlsVersion, binding,
            ],
            TimeSpan.FromSeconds(60));
        var context = $"\n--- scram_plus.py {tlsVersion} {binding} (exit {result.ExitCode}) ---\n{result.Output}{server.Server.Diagnostics(40)}";
        var line = result.StandardOutput.Trim();
        Assert.True(line.StartsWith('{'), "no JSON from the script" + context);
        using var json = JsonDocument.Parse(line);
        return (result, json.RootElement.Clone(), context);
    }
}
