using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postbote.Testing.Dovecot;

/// <summary>
/// Dovecot (Debian's <c>dovecot-core</c>, <c>dovecot-imapd</c>, <c>dovecot-pop3d</c>) started in the foreground as an
/// IMAP and POP3 server on free 127.0.0.1 ports, reading Maildirs that someone else wrote: <c>mail_location =
/// maildir:&lt;root&gt;/%d/%n</c>, the layout Postbote delivers into. Every user logs in with one password (a static
/// passdb) and its mail is read as the <c>dovecot</c> system user, so the root is handed to that user first. POP3 UIDLs
/// are the Maildir base names (<c>pop3_uidl_format = %f</c>). Its own configuration, sockets, state and log live in a
/// temp directory; disposing stops it and removes that directory (not the Maildirs).
/// </summary>
public sealed class DovecotImapServer : IAsyncDisposable
{
    private readonly Process _process;

    private DovecotImapServer(Process process, string directory, int imapPort, int pop3Port)
    {
        _process = process;
        Directory = directory;
        ImapPort = imapPort;
        Pop3Port = pop3Port;
    }

    /// <summary>Its temp directory.</summary>
    public string Directory { get; }

    /// <summary>The IMAP port on 127.0.0.1 (clear text; loopback only).</summary>
    public int ImapPort { get; }

    /// <summary>The POP3 port on 127.0.0.1 (clear text; loopback only).</summary>
    public int Pop3Port { get; }

    /// <summary>What Dovecot logged so far.</summary>
    public string Log => File.Exists(Path.Combine(Directory, "dovecot.log")) ? File.ReadAllText(Path.Combine(Directory, "dovecot.log")) : "";

    /// <summary>The configuration the tests use, as docs/dovecot.md shows it: IMAP and POP3 on the Maildirs under
    /// <paramref name="mailRoot"/>, one password for every user.</summary>
    /// <param name="dir">The directory for Dovecot's own files.</param>
    /// <param name="mailRoot">The Maildir root (Postbote's <c>local.maildir_root</c>).</param>
    /// <param name="password">The password of every user.</param>
    /// <param name="imapPort">The IMAP port.</param>
    /// <param name="pop3Port">The POP3 port.</param>
    /// <returns>The text of dovecot.conf.</returns>
    public static string Config(string dir, string mailRoot, string password, int imapPort, int pop3Port) =>
        string.Create(CultureInfo.InvariantCulture, $$"""
        protocols = imap pop3
        base_dir = {{dir}}/run
        state_dir = {{dir}}/state
        log_path = {{dir}}/dovecot.log
        instance_name = postbote-imap-{{imapPort}}
        listen = 127.0.0.1
        ssl = no
        disable_plaintext_auth = no
        auth_mechanisms = plain
        mail_location = maildir:{{mailRoot}}/%d/%n
        pop3_uidl_format = %f
        first_valid_uid = 1
        default_login_user = dovenull
        default_internal_user = dovecot
        passdb {
          driver = static
          args = password={{password}}
        }
        userdb {
          driver = static
          args = uid=dovecot gid=dovecot home={{mailRoot}}/%d/%n
        }
        service imap-login {
          inet_listener imap {
            address = 127.0.0.1
            port = {{imapPort}}
          }
          inet_listener imaps {
            port = 0
          }
        }
        service pop3-login {
          inet_listener pop3 {
            address = 127.0.0.1
            port = {{pop3Port}}
          }
          inet_listener pop3s {
            port = 0
          }
        }

        """);

    /// <summary>Hands <paramref name="mailRoot"/> to the dovecot user and starts Dovecot on it.</summary>
    /// <param name="mailRoot">The Maildir root.</param>
    /// <param name="password">The password of every user (no spaces: the static passdb splits its arguments at them).</param>
    /// <returns>The running server.</returns>
    /// <exception cref="InvalidOperationException">Dovecot or its IMAP/POP3 server is missing (./test.sh installs them) or
    /// did not come up within 20 seconds; the message holds its log.</exception>
    public static async Task<DovecotImapServer> StartAsync(string mailRoot, string password)
    {
        if (!File.Exists(DovecotServer.Executable) || !File.Exists("/usr/lib/dovecot/imap") || !File.Exists("/usr/lib/dovecot/pop3"))
            throw new InvalidOperationException("Dovecot's IMAP or POP3 server is missing: ./test.sh installs dovecot-imapd and dovecot-pop3d");
        string directory = System.IO.Directory.CreateTempSubdirectory("postbote-dovecot-imap-").FullName;
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "run"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "state"));
        await RunAsync("/bin/chown", ["-R", "dovecot:dovecot", mailRoot]).ConfigureAwait(false);
        int imap = FreeTcpPort(), pop3 = FreeTcpPort();
        File.WriteAllText(Path.Combine(directory, "dovecot.conf"), Config(directory, mailRoot, password, imap, pop3));
        var psi = new ProcessStartInfo(DovecotServer.Executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-F");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Path.Combine(directory, "dovecot.conf"));
        var process = Process.Start(psi) ?? throw new InvalidOperationException("dovecot did not start");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new DovecotImapServer(process, directory, imap, pop3);
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            if (await AcceptsAsync(imap).ConfigureAwait(false) && await AcceptsAsync(pop3).ConfigureAwait(false)) return server;
            await Task.Delay(100).ConfigureAwait(false);
        }
        string log = server.Log;
        await server.DisposeAsync().ConfigureAwait(false);
        string printed;
        lock (output) printed = output.ToString();
        throw new InvalidOperationException("dovecot did not come up:\n" + log + printed);
    }

    /// <summary>Stops Dovecot and removes its directory.</summary>
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

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await tcp.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreeTcpPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException(file + " did not start");
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} exited with {p.ExitCode}: {await stderr.ConfigureAwait(false)}");
    }
}
