using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// Postfix (Debian's package, installed by ./test.sh with "No configuration") as the recipients' mail server: a separate
/// instance with its configuration, queue and Maildirs in a temp directory, listening on one loopback address, final
/// destination for one domain whose every recipient goes to the Maildir <c>mail/&lt;domain&gt;/sink/</c> (virtual(8)).
/// No DNS, no chroot. Needs root (Postfix drops to its own users). Disposing stops it and removes the directory.
/// </summary>
public sealed class PostfixReceiver : IAsyncDisposable
{
    private readonly string _config;

    private PostfixReceiver(string directory, string domain, IPEndPoint endPoint)
    {
        Directory = directory;
        Domain = domain;
        EndPoint = endPoint;
        _config = Path.Combine(directory, "etc");
    }

    /// <summary>Its temp directory.</summary>
    public string Directory { get; }

    /// <summary>The domain it is the final destination for.</summary>
    public string Domain { get; }

    /// <summary>Where its smtpd listens.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The files delivered so far, in <c>new/</c>.</summary>
    public IReadOnlyList<string> Delivered
    {
        get
        {
            string dir = Path.Combine(Directory, "mail", Domain, "sink", "new");
            return System.IO.Directory.Exists(dir) ? System.IO.Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToList() : [];
        }
    }

    /// <summary>Starts an instance on <paramref name="address"/> for <paramref name="domain"/>.</summary>
    /// <param name="address">A local address (Postfix refuses one no interface has, so 127.0.0.1 rather than another
    /// 127.0.0.0/8 address).</param>
    /// <param name="domain">The domain it accepts mail for.</param>
    /// <returns>The running instance, once its smtpd accepts connections (30 s at most).</returns>
    /// <exception cref="InvalidOperationException">Postfix is missing, or did not start; the message holds its output.</exception>
    public static async Task<PostfixReceiver> StartAsync(string address, string domain)
    {
        if (!File.Exists("/usr/sbin/postfix")) throw new InvalidOperationException("/usr/sbin/postfix is missing: ./test.sh installs Debian's postfix");
        string dir = System.IO.Directory.CreateTempSubdirectory("postbote-postfix-").FullName;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        foreach (string sub in new[] { "etc", "queue", "data", "mail" }) System.IO.Directory.CreateDirectory(Path.Combine(dir, sub));
        await RunAsync("/bin/chown", "postfix:postfix", Path.Combine(dir, "data"));
        await RunAsync("/bin/chown", "nobody:nogroup", Path.Combine(dir, "mail"));
        int port;
        using (var probe = new TcpListener(IPAddress.Parse(address), 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        string etc = Path.Combine(dir, "etc");
        File.WriteAllText(Path.Combine(etc, "main.cf"), string.Create(CultureInfo.InvariantCulture, $"""
            compatibility_level = 3.6
            config_directory = {etc}
            queue_directory = {dir}/queue
            data_directory = {dir}/data
            mail_owner = postfix
            setgid_group = postdrop
            myhostname = mx.{domain}
            mydomain = {domain}
            inet_interfaces = {address}
            inet_protocols = ipv4
            mynetworks = 127.0.0.0/8
            disable_dns_lookups = yes
            smtp_dns_support_level = disabled
            smtp_host_lookup = native
            smtpd_peername_lookup = no
            mydestination =
            local_recipient_maps =
            alias_maps =
            alias_database =
            relay_domains =
            virtual_mailbox_domains = {domain}
            virtual_mailbox_base = {dir}/mail
            virtual_mailbox_maps = static:{domain}/sink/
            virtual_uid_maps = static:65534
            virtual_gid_maps = static:65534
            virtual_minimum_uid = 1
            smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
            smtpd_tls_security_level = none
            biff = no
            append_dot_mydomain = no
            maillog_file = {dir}/maillog
            maillog_file_prefixes = {dir}

            """));
        string master = File.ReadAllText(Path.Combine(RepoLayout.Root, "bench", "peers", "postfix", "master.cf"))
            .Replace("127.0.0.1:@PORT@", $"{address}:{port}", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(etc, "master.cf"), master);
        foreach (string f in new[] { "dynamicmaps.cf" })
            if (File.Exists("/etc/postfix/" + f)) File.Copy("/etc/postfix/" + f, Path.Combine(etc, f));
        if (System.IO.Directory.Exists("/etc/postfix/dynamicmaps.cf.d"))
            await RunAsync("/bin/cp", "-r", "/etc/postfix/dynamicmaps.cf.d", etc);
        var receiver = new PostfixReceiver(dir, domain, new IPEndPoint(IPAddress.Parse(address), port));
        string output = await RunAsync("/usr/sbin/postfix", "-c", etc, "set-permissions") + await RunAsync("/usr/sbin/postfix", "-c", etc, "start");
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(receiver.EndPoint);
                return receiver;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        await receiver.DisposeAsync();
        throw new InvalidOperationException("postfix did not start: " + output);
    }

    /// <summary>What Postfix logged (its maillog file).</summary>
    public string Log => File.Exists(Path.Combine(Directory, "maillog")) ? File.ReadAllText(Path.Combine(Directory, "maillog")) : "";

    /// <summary>Stops the instance and removes its directory.</summary>
    /// <returns>A task that completes when it is stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync("/usr/sbin/postfix", "-c", _config, "stop");
        }
        catch (InvalidOperationException)
        {
        }
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static async Task<string> RunAsync(string file, params string[] args)
    {
        var result = await ExternalProcess.RunAsync(file, args, TimeSpan.FromSeconds(60));
        if (result.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {result.Output}");
        return result.Output;
    }
}
