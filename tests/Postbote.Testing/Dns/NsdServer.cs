using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postbote.Testing.Dns;

/// <summary>
/// NSD, the authoritative DNS server from Debian's <c>nsd</c> package, started as a foreground process on a free
/// 127.0.0.1 port with its configuration, zone files, log and state in a temp directory of its own. It needs no
/// privilege: the port is above 1024 and nothing is written outside that directory. Disposing kills it and removes the
/// directory.
/// </summary>
public sealed class NsdServer : IAsyncDisposable
{
    /// <summary>Where Debian installs the server.</summary>
    public const string Executable = "/usr/sbin/nsd";

    private readonly Process process;

    private NsdServer(Process process, string directory, IPEndPoint endPoint)
    {
        this.process = process;
        Directory = directory;
        EndPoint = endPoint;
    }

    /// <summary>The UDP and TCP address it answers on.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Its temp directory (<c>nsd.conf</c>, the zone files, <c>nsd.log</c>).</summary>
    public string Directory { get; }

    /// <summary>What it logged so far (zone loading, errors).</summary>
    public string Log => File.Exists(Path.Combine(Directory, "nsd.log")) ? File.ReadAllText(Path.Combine(Directory, "nsd.log")) : "";

    /// <summary>Starts the server with <paramref name="zones"/> and waits until it answers for the first zone's SOA.</summary>
    /// <param name="zones">The zones; the first must load.</param>
    /// <param name="timeout">How long to wait for it to answer; 15 seconds when <c>null</c>.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="InvalidOperationException"><see cref="Executable"/> is missing (./test.sh installs it), or the
    /// server did not answer in time on any of three ports; the message holds its log.</exception>
    public static async Task<NsdServer> StartAsync(IReadOnlyList<TestZone> zones, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(zones);
        if (!File.Exists(Executable)) throw new InvalidOperationException($"{Executable} is missing: ./test.sh installs Debian's nsd");
        string failures = "";
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string directory = System.IO.Directory.CreateTempSubdirectory("postbote-nsd-").FullName;
            var endPoint = new IPEndPoint(IPAddress.Loopback, FreeUdpAndTcpPort());
            WriteFiles(directory, endPoint.Port, zones);
            var psi = new ProcessStartInfo(Executable)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = directory,
            };
            psi.ArgumentList.Add("-d");
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(Path.Combine(directory, "nsd.conf"));
            var process = Process.Start(psi) ?? throw new InvalidOperationException("nsd did not start");
            // It logs to nsd.log; whatever it prints is read and dropped so that a full pipe never stalls it.
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new NsdServer(process, directory, endPoint);
            if (await server.AnswersAsync(zones[0].Origin, timeout ?? TimeSpan.FromSeconds(15)).ConfigureAwait(false)) return server;
            failures += $"--- port {endPoint.Port} ---\n{server.Log}\n";
            await server.DisposeAsync().ConfigureAwait(false);
        }
        throw new InvalidOperationException("nsd did not answer:\n" + failures);
    }

    /// <summary>Kills the server (and its child processes) and removes its directory.</summary>
    /// <returns>A task that completes when it is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            // Already gone, or it would not die: the directory still goes.
        }
        process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private async Task<bool> AnswersAsync(string origin, TimeSpan timeout)
    {
        using var udp = new UdpClient(AddressFamily.InterNetwork);
        var clock = Stopwatch.StartNew();
        byte[] query = DnsWire.Query(0x5042, origin, DnsWire.Types["SOA"]);
        while (clock.Elapsed < timeout && !process.HasExited)
        {
            await udp.SendAsync(query, EndPoint).ConfigureAwait(false);
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            try
            {
                UdpReceiveResult reply = await udp.ReceiveAsync(wait.Token).ConfigureAwait(false);
                if (reply.Buffer.Length >= 12 && DnsWire.ResponseCode(reply.Buffer) == 0) return true;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                // Not listening yet (a refused port shows as SocketException).
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
        return false;
    }

    private static void WriteFiles(string directory, int port, IReadOnlyList<TestZone> zones)
    {
        var conf = new StringBuilder();
        conf.Append(CultureInfo.InvariantCulture, $"""
            server:
                ip-address: 127.0.0.1@{port}
                do-ip4: yes
                do-ip6: no
                username: ""
                chroot: ""
                zonesdir: "{directory}"
                database: ""
                zonelistfile: "{directory}/zone.list"
                pidfile: "{directory}/nsd.pid"
                xfrdfile: "{directory}/xfrd.state"
                xfrdir: "{directory}"
                logfile: "{directory}/nsd.log"
                server-count: 1
                verbosity: 1
                hide-version: yes
                reuseport: no
            remote-control:
                control-enable: no

            """);
        for (int i = 0; i < zones.Count; i++)
        {
            string file = $"zone{i}.zone";
            // A zone without text gets a file that does not parse: configured, not loaded, answered with SERVFAIL.
            File.WriteAllText(Path.Combine(directory, file), zones[i].Text ?? "this is not a zone file\n");
            conf.Append(CultureInfo.InvariantCulture, $"zone:\n    name: \"{zones[i].Origin}.\"\n    zonefile: \"{file}\"\n");
        }
        File.WriteAllText(Path.Combine(directory, "nsd.conf"), conf.ToString());
    }

    /// <summary>A 127.0.0.1 port free for both UDP and TCP right now.</summary>
    private static int FreeUdpAndTcpPort()
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // Taken for TCP: try another.
            }
        }
        throw new InvalidOperationException("no port free for both UDP and TCP on 127.0.0.1");
    }
}
