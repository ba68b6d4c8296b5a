using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Postbote.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Postbote.IntegrationTests;

/// <summary>
/// The built server with fewer file descriptors than connections: it stays up, does not spin (accept(2) failing with
/// EMFILE is retried after a pause, not at once), logs the failures once per interval, keeps its open sessions, and
/// greets new clients once descriptors are free again.
/// </summary>
public sealed class DescriptorExhaustionTests(ITestOutputHelper output)
{
    private const int Connections = 400;
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(3);

    /// <summary>The server's connection limit is derived from a descriptor limit of 256 at start-up: a warning naming
    /// max_connections, and the connections beyond the derived limit get 421 4.4.5 instead of exhausting descriptors.</summary>
    [Fact]
    public async Task StartedUnderALowDescriptorLimitItLowersMaxConnectionsAndStaysCalm()
    {
        await using var server = new PostboteServer(Options(), "fd-limit-start") { LaunchPrefix = ["prlimit", "--nofile=256:256", "--"] };
        await server.StartAsync();
        Assert.Equal(1, server.LogCount("max_connections = 10000 exceeds what the file descriptor limit allows (RLIMIT_NOFILE 256"));
        await HoldManyConnectionsAsync(server);
        Assert.True(server.LogCount("refusing 127.0.0.1") > 0, "no connection was refused for the lowered limit" + server.Diagnostics(40));
    }

    /// <summary>The descriptor limit drops below what the server started with (prlimit on the running process), so the
    /// connection limit no longer protects it: accept(2) fails with EMFILE, and the accept loop pauses instead of
    /// spinning.</summary>
    [Fact]
    public async Task AcceptFailingWithEmfileBacksOffInsteadOfSpinning()
    {
        await using var server = await PostboteServer.StartNewAsync(Options(), "fd-limit-runtime");
        // Room for about 100 more descriptors than the server has open now: fewer than the connections to come.
        var open = Directory.GetFileSystemEntries($"/proc/{server.ProcessId}/fd").Length;
        var nofile = (open + 100).ToString(CultureInfo.InvariantCulture);
        var limit = await ExternalProcess.RunAsync(
            "prlimit", ["--pid", server.ProcessId.ToString(CultureInfo.InvariantCulture), $"--nofile={nofile}:{nofile}"], TimeSpan.FromSeconds(10));
        Assert.True(limit.ExitCode == 0, limit.Output);
        await HoldManyConnectionsAsync(server);
        Assert.True(server.LogCount("accept failed on") >= 1, "accept(2) never failed: the test proves nothing" + server.Diagnostics(40));
    }

    private static ServerOptions Options() => new() { MaxConnectionsPerIp = 1000, LogLevel = "warning" };

    /// <summary>Opens <see cref="Connections"/> connections (bounded in time), holds them for <see cref="Hold"/> while
    /// measuring the server's CPU time, closes them and checks a new client is greeted.</summary>
    private async Task HoldManyConnectionsAsync(PostboteServer server)
    {
        // A session opened before the flood must go on being served while descriptors are exhausted.
        using var established = await SmtpConnection.ConnectAsync(server.Port);
        Assert.Equal(250, (await established.CommandAsync("EHLO client.test")).Code);
        var sockets = new List<Socket>();
        try
        {
            var opening = Stopwatch.StartNew();
            for (var i = 0; i < Connections && opening.Elapsed < TimeSpan.FromSeconds(30); i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var connect = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port), connect.Token);
                    sockets.Add(socket);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    socket.Dispose();
                }
            }

            Assert.True(sockets.Count == Connections, $"only {sockets.Count} of {Connections} connections opened" + server.Diagnostics(40));
            await Task.Delay(500); // let the accepts that can succeed happen
            using var process = Process.GetProcessById(server.ProcessId);
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            var acceptLinesBefore = server.LogCount("accept failed");
            await Task.Delay(Hold);
            process.Refresh();
            var cpu = process.TotalProcessorTime - cpuBefore;
            Assert.True(server.IsRunning, "the server died" + server.Diagnostics(60));
            Assert.True(cpu < TimeSpan.FromSeconds(1), $"the server used {cpu.TotalSeconds:F2} s of CPU in {Hold.TotalSeconds} s of holding" + server.Diagnostics(40));
            var acceptLines = server.LogCount("accept failed") - acceptLinesBefore;
            output.WriteLine($"{sockets.Count} connections held {Hold.TotalSeconds} s: server CPU {cpu.TotalSeconds:F2} s, {acceptLines} accept lines, "
                + $"{server.LogCount("refusing")} refused, {server.DescriptorsOpen()} descriptors open");
            Assert.True(acceptLines <= 2, $"{acceptLines} accept lines in {Hold.TotalSeconds} s" + server.Diagnostics(40));
            var noop = await established.CommandAsync("NOOP", TimeSpan.FromSeconds(5));
            Assert.True(noop.Text.StartsWith("250 2.0.0", StringComparison.Ordinal), $"the open session got {noop}" + server.Diagnostics(40));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }

        // Descriptors come free as the held sessions end: a new client is greeted (bounded: 20 s).
        var waiting = Stopwatch.StartNew();
        var last = "no attempt";
        while (waiting.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                using var client = await SmtpConnection.ConnectAsync(server.Port, TimeSpan.FromSeconds(3));
                if (client.Greeting.Text.StartsWith("220 mx.test ESMTP", StringComparison.Ordinal))
                {
                    Assert.True(server.IsRunning);
                    return;
                }

                last = client.Greeting.ToString();
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"no 220 greeting within 20 s after the connections closed (last: {last})" + server.Diagnostics(60));
    }
}
