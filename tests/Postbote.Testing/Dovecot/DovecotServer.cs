using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postbote.Testing.Dovecot;

/// <summary>
/// Dovecot (Debian's <c>dovecot-core</c> and <c>dovecot-lmtpd</c>) started in the foreground as an LMTP server only, with
/// its configuration, sockets, state, log and Maildirs (<c>mail/&lt;domain&gt;/&lt;user&gt;</c>) in a temp directory of
/// its own. It listens for LMTP on a unix domain socket (<see cref="LmtpSocketPath"/>) and on a free 127.0.0.1 port
/// (<see cref="LmtpEndPoint"/>); every user exists (a static user database) and its mail is stored as the
/// <c>dovecot</c> system user. Disposing stops it and removes the directory.
/// </summary>
public sealed class DovecotServer : IAsyncDisposable
{
    /// <summary>Where Debian installs the server.</summary>
    public const string Executable = "/usr/sbin/dovecot";

    /// <summary>Where Debian installs the administration tool used to look into the mailboxes.</summary>
    public const string Doveadm = "/usr/bin/doveadm";

    private readonly Process _process;

    private DovecotServer(Process process, string directory, IPEndPoint endPoint)
    {
        _process = process;
        Directory = directory;
        LmtpEndPoint = endPoint;
    }

    /// <summary>Its temp directory (<c>dovecot.conf</c>, <c>run/</c>, <c>mail/</c>, <c>dovecot.log</c>).</summary>
    public string Directory { get; }

    /// <summary>The LMTP unix domain socket.</summary>
    public string LmtpSocketPath => Path.Combine(Directory, "run", "lmtp");

    /// <summary>The LMTP TCP endpoint on 127.0.0.1.</summary>
    public IPEndPoint LmtpEndPoint { get; }

    /// <summary>The root of the Maildirs: <c>&lt;root&gt;/&lt;domain&gt;/&lt;user&gt;/new</c>.</summary>
    public string MailRoot => Path.Combine(Directory, "mail");

    /// <summary>What Dovecot logged so far.</summary>
    public string Log => File.Exists(Path.Combine(Directory, "dovecot.log")) ? File.ReadAllText(Path.Combine(Directory, "dovecot.log")) : "";

    /// <summary>Starts Dovecot and waits until its LMTP socket and port accept connections.</summary>
    /// <param name="timeout">How long to wait; 20 seconds when <c>null</c>.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="InvalidOperationException">Dovecot is missing (./test.sh installs it) or did not come up in time;
    /// the message holds its log.</exception>
    public static async Task<DovecotServer> StartAsync(TimeSpan? timeout = null)
    {
        if (!File.Exists(Executable) || !File.Exists("/usr/lib/dovecot/lmtp"))
        {
            throw new InvalidOperationException($"{Executable} or its LMTP server is missing: ./test.sh installs dovecot-core and dovecot-lmtpd");
        }
        string directory = System.IO.Directory.CreateTempSubdirectory("postbote-dovecot-").FullName;
        // The mail processes run as the dovecot user: it must reach the Maildirs below the temp directory.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        string mail = Path.Combine(directory, "mail");
        System.IO.Directory.CreateDirectory(mail);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "run"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "state"));
        await RunAsync("/bin/chown", ["dovecot:dovecot", mail]).ConfigureAwait(false);
        var endPoint = new IPEndPoint(IPAddress.Loopback, FreeTcpPort());
        File.WriteAllText(Path.Combine(directory, "dovecot.conf"), Config(directory, endPoint.Port));
        var psi = new ProcessStartInfo(Executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-F");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Path.Combine(directory, "dovecot.conf"));
        var process = Process.Start(psi) ?? throw new InvalidOperationException("dovecot did not start");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new DovecotServer(process, directory, endPoint);
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            if (await server.AcceptsAsync().ConfigureAwait(false)) return server;
            await Task.Delay(100).ConfigureAwait(false);
        }
        string log = server.Log;
        await server.DisposeAsync().ConfigureAwait(false);
        string printed;
        lock (output) printed = output.ToString();
        throw new InvalidOperationException("dovecot did not come up:\n" + log + printed);
    }

    /// <summary>The message files delivered to a user, in <c>new/</c> and <c>cur/</c>.</summary>
    /// <param name="address">The user, <c>local@domain</c>.</param>
    /// <returns>The full paths, sorted.</returns>
    public IReadOnlyList<string> MessageFiles(string address)
    {
        int at = address.LastIndexOf('@');
        string box = Path.Combine(MailRoot, address[(at + 1)..], address[..at]);
        var files = new List<string>();
        foreach (string sub in new[] { "new", "cur" })
        {
            string dir = Path.Combine(box, sub);
            if (System.IO.Directory.Exists(dir)) files.AddRange(System.IO.Directory.GetFiles(dir));
        }
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>Asks <c>doveadm search</c> which messages of a user's INBOX carry a Message-ID.</summary>
    /// <param name="address">The user, <c>local@domain</c>.</param>
    /// <param name="messageId">The Message-ID without angle brackets.</param>
    /// <returns>The number of matching messages.</returns>
    /// <exception cref="InvalidOperationException">doveadm failed; the message holds its output.</exception>
    public async Task<int> SearchMessageIdAsync(string address, string messageId)
    {
        string output = await RunAsync(Doveadm, ["-c", Path.Combine(Directory, "dovecot.conf"), "search", "-u", address,
            "mailbox", "INBOX", "header", "Message-ID", messageId]).ConfigureAwait(false);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    /// <summary>Stops Dovecot (and its child processes) and removes its directory.</summary>
    /// <returns>A task that completes when it is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
        }
        _process.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private async Task<bool> AcceptsAsync()
    {
        try
        {
            using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await unix.ConnectAsync(new UnixDomainSocketEndPoint(LmtpSocketPath)).ConfigureAwait(false);
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await tcp.ConnectAsync(LmtpEndPoint).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string Config(string dir, int port) => string.Create(CultureInfo.InvariantCulture, $$"""
        protocols = lmtp
        base_dir = {{dir}}/run
        state_dir = {{dir}}/state
        log_path = {{dir}}/dovecot.log
        instance_name = postbote-test-{{port}}
        listen = 127.0.0.1
        ssl = no
        mail_location = maildir:{{dir}}/mail/%d/%n
        first_valid_uid = 1
        default_login_user = dovenull
        default_internal_user = dovecot
        lmtp_save_to_detail_mailbox = no
        passdb {
          driver = static
          args = nopassword=y
        }
        userdb {
          driver = static
          args = uid=dovecot gid=dovecot home={{dir}}/mail/%d/%n
        }
        service lmtp {
          unix_listener lmtp {
            mode = 0666
          }
          inet_listener lmtp {
            address = 127.0.0.1
            port = {{port}}
          }
        }

        """);

    private static int FreeTcpPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task<string> RunAsync(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException(file + " did not start");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} exited with {p.ExitCode}: {await stderr.ConfigureAwait(false)}");
        return await stdout.ConfigureAwait(false);
    }
}
