using System.Text.Json;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>The admin JSON API with curl as the client: no cookie, no entry; only listed users of the user store log in;
/// the cookie is HttpOnly and SameSite=Strict; every changing request needs the CSRF header; logins are rate-limited;
/// with no admin user the page is off.</summary>
public sealed class AdminApiTests
{
    [Fact]
    public async Task LoginCookieCsrfAndRateLimitGuardTheApi()
    {
        int port = FreePorts.Next();
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions { AdminPort = port, AdminUsers = ["boss@example.com"] }, "admin-api");
        await server.AddUserAsync("boss@example.com", "right password");
        await server.AddUserAsync("clerk@example.com", "clerk password");
        string jar = Path.Combine(server.TempDir, "cookies.txt");
        string api = $"http://127.0.0.1:{port}/api";

        Assert.Equal(401, (await Curl("-X", "GET", api + "/queue")).Status);
        Assert.Equal(401, (await Login(api, "boss@example.com", "wrong password")).Status);
        Assert.Equal(401, (await Login(api, "clerk@example.com", "clerk password")).Status); // in the store, not an admin
        var ok = await Login(api, "boss@example.com", "right password", jar);
        Assert.Equal(200, ok.Status);
        Assert.Matches("(?im)^set-cookie: postbote_session=[0-9a-f]{64}; path=/; samesite=strict; httponly\r?$", ok.Headers);
        string csrf = JsonDocument.Parse(ok.Body).RootElement.GetProperty("csrf").GetString()!;
        Assert.Matches("^[0-9a-f]{64}$", csrf);

        var queue = await Curl("-b", jar, api + "/queue");
        Assert.Equal(200, queue.Status);
        Assert.Equal("""{"messages":[]}""", queue.Body);
        // Changing requests: the cookie alone is not enough.
        Assert.Equal(403, (await Curl("-b", jar, "-X", "POST", api + "/queue/01L8T2XSAB002LTQ/retry")).Status);
        Assert.Equal(403, (await Curl("-b", jar, "-X", "POST", "-H", "X-Postbote-Csrf: " + new string('0', 64), api + "/queue/01L8T2XSAB002LTQ/retry")).Status);
        var notQueued = await Curl("-b", jar, "-X", "POST", "-H", "X-Postbote-Csrf: " + csrf, api + "/queue/01L8T2XSAB002LTQ/retry");
        Assert.Equal(404, notQueued.Status);
        Assert.Equal("""{"error":"01L8T2XSAB002LTQ: not in the queue"}""", notQueued.Body);
        Assert.Equal(400, (await Curl("-b", jar, "-X", "POST", "-H", "X-Postbote-Csrf: " + csrf, api + "/queue/nonsense/retry")).Status);

        // Five attempts per address in five minutes, right or wrong: three were made, two more pass, the sixth is refused.
        Assert.Equal(401, (await Login(api, "boss@example.com", "wrong again")).Status);
        Assert.Equal(401, (await Login(api, "boss@example.com", "and again")).Status);
        Assert.Equal(429, (await Login(api, "boss@example.com", "right password")).Status);

        // Logged out: the cookie no longer opens anything.
        Assert.Equal(200, (await Curl("-b", jar, "-X", "POST", "-H", "X-Postbote-Csrf: " + csrf, api + "/logout")).Status);
        Assert.Equal(401, (await Curl("-b", jar, api + "/queue")).Status);
    }

    [Fact]
    public async Task WithNoAdminUserThePageIsOffAndLoginsAreRefusedButMetricsServe()
    {
        int port = FreePorts.Next();
        await using var server = await PostboteServer.StartNewAsync(new ServerOptions { AdminPort = port }, "admin-off");
        await server.AddUserAsync("boss@example.com", "right password");
        Assert.Equal(404, (await Curl($"http://127.0.0.1:{port}/")).Status);
        Assert.Equal(403, (await Curl("-X", "POST", "-H", "Content-Type: application/json", "--data", """{"user":"boss@example.com","password":"right password"}""",
            $"http://127.0.0.1:{port}/api/login")).Status);
        Assert.Equal(200, (await Curl($"http://127.0.0.1:{port}/metrics")).Status);
    }

    private static Task<(int Status, string Headers, string Body)> Login(string api, string user, string password, string? jar = null)
    {
        string body = JsonSerializer.Serialize(new { user, password });
        string[] args = ["-X", "POST", "-H", "Content-Type: application/json", "--data", body];
        if (jar is not null) args = [.. args, "-c", jar];
        return Curl([.. args, api + "/login"]);
    }

    private static async Task<(int Status, string Headers, string Body)> Curl(params string[] args)
    {
        var r = await ExternalProcess.RunAsync("curl", ["-sS", "--max-time", "10", "-D", "-", .. args], TimeSpan.FromSeconds(20));
        Assert.True(r.ExitCode == 0, r.Output);
        string[] parts = r.StandardOutput.ReplaceLineEndings("\n").Split("\n\n", 2);
        int status = int.Parse(parts[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, parts[0], parts.Length > 1 ? parts[1].Trim() : "");
    }
}
