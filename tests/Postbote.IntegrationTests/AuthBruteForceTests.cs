using System.Diagnostics;
using System.Net;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// Password guessing: after [auth] max_failures wrong passwords from one address within failure_window, that address
/// gets 454 4.7.0 for every AUTH, even with the right password, for block_time; other addresses are not affected.
/// </summary>
public sealed class AuthBruteForceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int MaxFailures = 20;
    private const int BlockSeconds = 3;

    [Fact]
    public async Task TwentyWrongPasswordsBlockTheAddressUntilBlockTimeEnds()
    {
        await using var server = new PostboteServer(
            new ServerOptions
            {
                Submission = true,
                AuthMaxFailures = MaxFailures,
                AuthFailureWindowSeconds = 60,
                AuthBlockTimeSeconds = BlockSeconds,
            },
            "brute-force");
        await server.AddUserAsync(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        await server.StartAsync();

        // 20 wrong passwords from 127.0.0.1 in two sessions of 10 (a session ends after 20 error replies); PLAIN and
        // LOGIN both count.
        var failures = 0;
        for (var session = 0; session < 2; session++)
        {
            using var guesser = await SmtpConnection.ConnectFromAsync(IPAddress.Loopback, server.SubmissionPort);
            await AuthDialog.StartTlsAsync(guesser);
            for (var i = 0; i < MaxFailures / 2; i++, failures++)
            {
                if (i % 2 == 0)
                {
                    await AuthDialog.PlainAsync(guesser, TlsAuthServerFixture.Alice, $"guess-{failures}", "^535 5\\.7\\.8 ");
                }
                else
                {
                    await SmtpDialog.ExpectAsync(guesser, "AUTH LOGIN " + AuthDialog.Base64(TlsAuthServerFixture.Alice), "^334 ");
                    await SmtpDialog.ExpectAsync(guesser, AuthDialog.Base64($"guess-{failures}"), "^535 5\\.7\\.8 ");
                }
            }

            await SmtpDialog.ExpectAsync(guesser, "QUIT", "^221");
        }

        var blockedAt = Stopwatch.StartNew();

        // The right password from the blocked address: 454 4.7.0, in a new session and on the MX port too.
        using (var blocked = await SmtpConnection.ConnectFromAsync(IPAddress.Loopback, server.SubmissionPort))
        {
            await AuthDialog.StartTlsAsync(blocked);
            await AuthDialog.PlainAsync(blocked, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword, "^454 4\\.7\\.0 ");
            await SmtpDialog.ExpectAsync(blocked, "MAIL FROM:<alice@example.com>", "^530 5\\.7\\.0 ");
        }

        using (var blockedMx = await SmtpConnection.ConnectFromAsync(IPAddress.Loopback, server.Port))
        {
            await AuthDialog.StartTlsAsync(blockedMx);
            await SmtpDialog.ExpectAsync(blockedMx, "AUTH LOGIN " + AuthDialog.Base64(TlsAuthServerFixture.Alice), "^454 4\\.7\\.0 ");
        }

        // Another address is not blocked.
        using (var other = await SmtpConnection.ConnectFromAsync(IPAddress.Parse("127.0.0.2"), server.SubmissionPort))
        {
            Assert.Equal(IPAddress.Parse("127.0.0.2"), other.LocalEndPoint.Address);
            await AuthDialog.StartTlsAsync(other);
            await AuthDialog.PlainAsync(other, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
            await SmtpDialog.ExpectAsync(other, "MAIL FROM:<alice@example.com>", "^250 2\\.1\\.0 ");
        }

        Assert.True(
            blockedAt.Elapsed < TimeSpan.FromSeconds(BlockSeconds),
            $"the checks took {blockedAt.Elapsed.TotalSeconds:F1} s, longer than the block; they prove nothing");

        // After block_time the right password works again from 127.0.0.1.
        await Task.Delay(TimeSpan.FromSeconds(BlockSeconds + 0.5) - blockedAt.Elapsed);
        using var after = await SmtpConnection.ConnectFromAsync(IPAddress.Loopback, server.SubmissionPort);
        await AuthDialog.StartTlsAsync(after);
        await AuthDialog.PlainAsync(after, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        await SmtpDialog.ExpectAsync(after, "MAIL FROM:<alice@example.com>", "^250 2\\.1\\.0 ");
    }

    [Fact]
    public async Task FewerFailuresThanTheLimitDoNotBlock()
    {
        await using var server = new PostboteServer(
            new ServerOptions { Submission = true, AuthMaxFailures = 5, AuthFailureWindowSeconds = 60, AuthBlockTimeSeconds = 60 },
            "brute-force-below");
        await server.AddUserAsync(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        await server.StartAsync();
        using var smtp = await SmtpConnection.ConnectAsync(server.SubmissionPort);
        await AuthDialog.StartTlsAsync(smtp);
        for (var i = 0; i < 4; i++)
        {
            await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, $"guess-{i}", "^535 5\\.7\\.8 ");
        }

        await AuthDialog.PlainAsync(smtp, TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
    }

    /// <summary>
    /// 200 wrong AUTH PLAIN at the same moment from one address, each on its own connection (Python raw sockets): the
    /// password checks overlap, yet at most max_failures of them run; every other attempt gets 454 4.7.0.
    /// </summary>
    [Fact]
    public async Task ParallelGuessesFromOneAddressAreCheckedAtMostMaxFailuresTimes()
    {
        const int attempts = 200;
        await using var server = new PostboteServer(
            new ServerOptions
            {
                PlaintextAuth = true,
                MaxConnectionsPerIp = attempts + 10,
                AuthMaxFailures = MaxFailures,
                AuthFailureWindowSeconds = 600,
                AuthBlockTimeSeconds = 600,
                LogLevel = "warning",
            },
            "brute-force-parallel");
        await server.AddUserAsync(TlsAuthServerFixture.Alice, TlsAuthServerFixture.AlicePassword);
        await server.StartAsync();

        var script = Path.Combine(AppContext.BaseDirectory, "Scripts", "parallel_auth.py");
        var run = await ExternalProcess.RunAsync(
            "python3", [script, server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), attempts.ToString(System.Globalization.CultureInfo.InvariantCulture), TlsAuthServerFixture.Alice],
            TimeSpan.FromSeconds(150));
        Assert.True(run.ExitCode == 0, run.Output + server.Diagnostics());
        using var json = System.Text.Json.JsonDocument.Parse(run.StandardOutput.Trim().Split('\n')[^1]);
        var replies = json.RootElement.GetProperty("replies").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        string seen = string.Join(", ", replies.Select(r => $"{r.Key}: {r.Value}"));
        output.WriteLine($"{attempts} parallel wrong AUTH PLAIN: {seen}");
        replies.TryGetValue("535 5.7.8", out var checkedAndFailed);
        replies.TryGetValue("454 4.7.0", out var refused);
        Assert.True(checkedAndFailed + refused == attempts, $"every attempt gets 535 or 454; got {seen}");
        Assert.True(checkedAndFailed <= MaxFailures, $"at most {MaxFailures} guesses may be checked; got {seen}");
        Assert.True(checkedAndFailed >= 1, $"some guesses are checked; got {seen}");
    }
}
