using System.Net.Sockets;
using System.Text;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// packaging/: the systemd unit passes <c>systemd-analyze verify</c> (with ExecStart pointed at the built executable),
/// and the server speaks systemd's notify protocol: READY=1 on the NOTIFY_SOCKET once it listens, STOPPING=1 on SIGTERM.
/// </summary>
public sealed class PackagingTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("postbote-packaging-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static string Unit => Path.Combine(RepoLayout.Root, "packaging", "postbote.service");

    /// <summary>The unit with its executable paths rewritten to the built apphost, written into the temp folder.</summary>
    private async Task<string> UnitForBuiltBinaryAsync(Func<string, string>? change = null)
    {
        await RepoLayout.EnsureServerBuiltAsync();
        string binary = Path.Combine(Path.GetDirectoryName(RepoLayout.ServerDll)!, "postbote");
        Assert.True(File.Exists(binary), binary);
        string text = (await File.ReadAllTextAsync(Unit)).Replace("/usr/local/bin/postbote", binary, StringComparison.Ordinal);
        string path = Path.Combine(dir, "postbote.service");
        await File.WriteAllTextAsync(path, change is null ? text : change(text));
        return path;
    }

    [Fact]
    public async Task TheSystemdUnitPassesSystemdAnalyzeVerify()
    {
        string unit = await UnitForBuiltBinaryAsync();

        var verify = await ExternalProcess.RunAsync("systemd-analyze", ["verify", unit], TimeSpan.FromSeconds(60), dir);

        Assert.True(verify.ExitCode == 0 && verify.StandardError.Length == 0, verify.Output);
        string text = await File.ReadAllTextAsync(Unit);
        foreach (string line in new[]
        {
            "Type=notify", "User=postbote", "ProtectSystem=strict", "ReadWritePaths=/var/lib/postbote", "NoNewPrivileges=yes",
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "PrivateTmp=yes",
            "ProtectHome=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
            "ExecReload=/usr/local/bin/postbote reload --config /etc/postbote/postbote.toml",
        })
        {
            Assert.Contains("\n" + line + "\n", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SystemdAnalyzeRefusesAUnitWithAMisspeltDirective()
    {
        // The check above can fail: the same tool on the same unit with one typo.
        string unit = await UnitForBuiltBinaryAsync(t => t.Replace("Type=notify", "Type=notfy", StringComparison.Ordinal));

        var verify = await ExternalProcess.RunAsync("systemd-analyze", ["verify", unit], TimeSpan.FromSeconds(60), dir);

        Assert.Contains("Failed to parse service type, ignoring: notfy", verify.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheServerSaysReadyOnTheNotifySocketOnceItListensAndStoppingOnSigterm()
    {
        string socketPath = Path.Combine(dir, "notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        await using var server = new PostboteServer(new ServerOptions { TlsEnabled = false }, "notify")
        {
            LaunchPrefix = ["env", "NOTIFY_SOCKET=" + socketPath],
        };
        await server.StartAsync(); // returns after the 220 greeting

        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int n = await notify.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        Assert.Equal("READY=1", Encoding.ASCII.GetString(buffer, 0, n));

        server.SendTerminate();
        n = await notify.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        Assert.Equal("STOPPING=1", Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
