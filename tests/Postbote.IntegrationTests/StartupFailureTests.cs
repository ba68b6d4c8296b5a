using System.Net;
using System.Net.Sockets;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>
/// A wrong set-up stops <c>postbote serve</c> with one line on standard error that names the setting, the path or address
/// and the reason: exit code 2 for configuration, 1 for the environment, no stack trace (only at log level debug).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StartupFailureTests : IDisposable
{
    private readonly PostboteCli cli = new();

    public void Dispose() => cli.Dispose();

    /// <summary>A configuration with its own data directory and free loopback ports.</summary>
    private string Config(string extra = "", string? dataDir = null, string? listen = null) => cli.Config($"""
        data_dir = "{dataDir ?? cli.Combine("data")}"
        [smtp]
        listen = [{listen ?? $"\"127.0.0.1:{FreePorts.Next()}\""}]
        {extra}
        """);

    private static void AssertOneLine(ExternalProcess.Result r, int exitCode, string line)
    {
        Assert.False(r.TimedOut, r.Output);
        Assert.True(exitCode == r.ExitCode, $"exit {r.ExitCode}, expected {exitCode}\n{r.Output}");
        Assert.Equal(line + "\n", r.StandardError);
        Assert.DoesNotContain("   at ", r.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GarbageTlsKeyIsOneLineAndExit2()
    {
        var (cert, key) = WriteCertificate();
        File.WriteAllText(key, "garbage");
        var r = await cli.RunAsync("serve", "--config", Config(Tls(cert, key)));
        AssertOneLine(r, 2, $"postbote: tls.key {key}: no PEM private key (PKCS#8, RSA or EC) that belongs to tls.certificate "
            + "(The key contents do not contain a PEM, the content is malformed, or the key does not match the certificate.)");
    }

    [Fact]
    public async Task StackTraceOnlyAtDebugLevel()
    {
        var (cert, key) = WriteCertificate();
        File.WriteAllText(key, "garbage");
        var r = await cli.RunAsync("serve", "--config", Config(Tls(cert, key) + "\n[log]\nlevel = \"debug\""));
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"postbote: tls.key {key}: no PEM private key", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("   at ", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingCertificateNamesTheSetting()
    {
        var cert = cli.Combine("no-such-dir", "cert.pem");
        var (_, key) = WriteCertificate();
        var r = await cli.RunAsync("serve", "--config", Config(Tls(cert, key)));
        AssertOneLine(r, 2, $"postbote: tls.certificate {cert}: no such file");
    }

    [Fact]
    public async Task PortInUseNamesTheAddressAndNothingListens()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        int busy = ((IPEndPoint)taken.LocalEndPoint!).Port;
        int free = FreePorts.Next();
        var r = await cli.RunAsync("serve", "--config", Config($"submission = [\"127.0.0.1:{busy}\"]", listen: $"\"127.0.0.1:{free}\""));
        AssertOneLine(r, 1, $"postbote: smtp.submission 127.0.0.1:{busy}: cannot listen: Address already in use");
        Assert.DoesNotContain($"listening on 127.0.0.1:{free}", r.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataDirThatIsAFile()
    {
        var file = cli.Combine("datafile");
        File.WriteAllText(file, "");
        var r = await cli.RunAsync("serve", "--config", Config(dataDir: file));
        AssertOneLine(r, 1, $"postbote: data_dir {file}: is a file, not a directory");
    }

    [Fact]
    public async Task DataDirOnAReadOnlyFileSystem()
    {
        var ro = cli.Combine("ro");
        Directory.CreateDirectory(ro);
        var config = Config(dataDir: ro);
        // A private mount namespace with a read-only tmpfs over the data directory.
        var r = await cli.RunInShellAsync("unshare", ["-rm"], $"mount -t tmpfs -o ro tmpfs {PostboteCli.Quote(ro)} &&", "serve", "--config", config);
        AssertOneLine(r, 1, $"postbote: data_dir {ro}: not writable: Read-only file system");
    }

    [Fact]
    public async Task DataDirNotWritable()
    {
        var dir = cli.Combine("locked");
        Directory.CreateDirectory(dir);
        var r = await RunWithoutWriteAccessAsync(dir, Config(dataDir: dir));
        AssertOneLine(r, 1, $"postbote: data_dir {dir}: not writable: Permission denied");
    }

    [Fact]
    public async Task MaildirRootNotWritableIsFoundAtStartup()
    {
        var data = cli.Combine("data");
        var maildir = cli.Combine("maildir");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(maildir);
        var config = Config($"[local]\nmaildir_root = \"{maildir}\"", dataDir: data);
        var r = await RunWithoutWriteAccessAsync(maildir, config, writable: data);
        AssertOneLine(r, 1, $"postbote: local.maildir_root {maildir}: not writable: Permission denied");
    }

    /// <summary>Runs <c>serve</c> so that <paramref name="dir"/> is not writable: as root (who may write anywhere) under
    /// another user with the directory owned by root, else with the directory's write bit cleared.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private async Task<ExternalProcess.Result> RunWithoutWriteAccessAsync(string dir, string config, string? writable = null)
    {
        File.SetUnixFileMode(cli.Dir, (UnixFileMode)0b111_101_101);
        if (!IsRoot())
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            try
            {
                return await cli.RunAsync("serve", "--config", config);
            }
            finally
            {
                File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        if (writable is not null) File.SetUnixFileMode(writable, (UnixFileMode)0b111_111_111);
        File.SetUnixFileMode(config, (UnixFileMode)0b110_100_100);
        return await cli.RunInShellAsync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups"],
            "HOME=/tmp DOTNET_CLI_HOME=/tmp", "serve", "--config", config);
    }

    private static bool IsRoot() => File.ReadAllText("/proc/self/status").Split('\n')
        .First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0";

    private static string Tls(string cert, string key) => $"[tls]\ncertificate = \"{cert}\"\nkey = \"{key}\"";

    private (string Cert, string Key) WriteCertificate()
    {
        using var ca = TestCertificateAuthority.Create();
        using var leaf = ca.Issue("mx.test");
        var cert = cli.Combine("tls", "cert.pem");
        var key = cli.Combine("tls", "key.pem");
        TestCertificateAuthority.WritePem(leaf, cert, key);
        return (cert, key);
    }
}
