using System.Globalization;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// At trace level the log holds the SMTP transcript, but never SASL payloads: not the AUTH command's initial response
/// and not the continuation lines, which carry the password (PLAIN, LOGIN) in base64.
/// </summary>
public sealed class TraceLogRedactionTests(PlaintextAuthServerFixture fixture) : IClassFixture<PlaintextAuthServerFixture>
{
    private PostboteServer Server => fixture.Server;

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public async Task CredentialsAreNotInTheTraceLog(string mechanism)
    {
        // A user of this test alone, so that no other test's log lines can hide or fake a leak.
        const string Password = "tr4ce-l0g-s3cret";
        string user = $"trace-{mechanism.ToLowerInvariant()}@example.com";
        using var smtp = await SmtpConnection.ConnectAsync(Server.SubmissionPort);
        await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        // The user does not exist: the exchange runs to its end all the same (and 535 is as good as 235 here).
        if (mechanism == "PLAIN")
        {
            await SmtpDialog.ExpectAsync(smtp, "AUTH PLAIN " + AuthDialog.Plain(user, Password), "^535 5\\.7\\.8 ");
        }
        else
        {
            await SmtpDialog.ExpectAsync(smtp, "AUTH LOGIN", "^334 ");
            await SmtpDialog.ExpectAsync(smtp, AuthDialog.Base64(user), "^334 ");
            await SmtpDialog.ExpectAsync(smtp, AuthDialog.Base64(Password), "^535 5\\.7\\.8 ");
        }

        await SmtpDialog.ExpectAsync(smtp, "QUIT", "^221");
        // The transcript is there (trace level works) ...
        Assert.True(await Server.WaitForLogAsync($"C: AUTH {mechanism}", 1, TimeSpan.FromSeconds(10)), "no trace line for AUTH" + Server.Diagnostics(80));
        Assert.True(await Server.WaitForLogAsync("C: QUIT", 1, TimeSpan.FromSeconds(10)), "no trace line for QUIT" + Server.Diagnostics(80));
        // ... without the credentials, in clear or base64.
        foreach (string secret in new[] { AuthDialog.Plain(user, Password), AuthDialog.Base64(Password), Password, AuthDialog.Base64(user) })
        {
            Assert.True(Server.LogCount(secret) == 0, $"the log holds '{secret}'{Server.Diagnostics(80)}");
        }

        if (mechanism == "LOGIN")
        {
            Assert.True(Server.LogCount("octets of SASL response, not logged") >= 2, "continuation lines not shown as redacted" + Server.Diagnostics(80));
        }
        else
        {
            Assert.True(Server.LogCount(string.Format(CultureInfo.InvariantCulture, "C: AUTH PLAIN ({0} octets of initial response, not logged)",
                AuthDialog.Plain(user, Password).Length)) == 1, "initial response not shown as redacted" + Server.Diagnostics(80));
        }
    }
}
