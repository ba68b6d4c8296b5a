using System.Text.RegularExpressions;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary><c>postbote dkim keygen</c>: the key file (PEM PKCS#8, mode 0600, never overwritten), its default path in
/// the data directory, the TXT record it prints; a key file the server cannot use stops the start with one line.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DkimKeygenTests : IDisposable
{
    private readonly PostboteCli cli = new();

    public void Dispose() => cli.Dispose();

    [Fact]
    public async Task RsaKeyIsPkcs8WithMode0600AndTheRecordIsSplitInto255OctetStrings()
    {
        string file = cli.Combine("keys", "rsa.pem");
        var r = await cli.RunAsync("dkim", "keygen", "--domain", "Example.COM.", "--selector", "s2026", "--out", file);
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----\n", File.ReadAllText(file), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Match m = Regex.Match(r.StandardOutput, "^s2026\\._domainkey\\.example\\.com\\. IN TXT ((?:\"[^\"]*\" ?)+)\n$");
        Assert.True(m.Success, r.StandardOutput);
        string[] strings = Regex.Matches(m.Groups[1].Value, "\"([^\"]*)\"").Select(x => x.Groups[1].Value).ToArray();
        Assert.True(strings.Length >= 2 && strings.All(s => s.Length <= 255), m.Groups[1].Value);
        string value = string.Concat(strings);
        Assert.StartsWith("v=DKIM1; k=rsa; p=", value, StringComparison.Ordinal);
        using var rsa = System.Security.Cryptography.RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(Convert.FromBase64String(value["v=DKIM1; k=rsa; p=".Length..]), out _);
        Assert.Equal(2048, rsa.KeySize);
    }

    [Fact]
    public async Task Ed25519KeyGoesToTheDefaultPathAndIsNeverOverwritten()
    {
        string data = cli.Combine("data");
        string config = cli.Config($"data_dir = \"{data}\"\n");
        var r = await cli.RunAsync("--config", config, "dkim", "keygen", "--domain", "example.com", "--selector", "ed", "--algorithm", "ed25519");
        Assert.True(r.ExitCode == 0, r.Output);
        string file = Path.Combine(data, "dkim", "ed._domainkey.example.com.pem");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Match m = Regex.Match(r.StandardOutput, "^ed\\._domainkey\\.example\\.com\\. IN TXT \"v=DKIM1; k=ed25519; p=([A-Za-z0-9+/=]+)\"\n$");
        Assert.True(m.Success, r.StandardOutput);
        // RFC 8463 §4.2: p= is the raw 32-byte Ed25519 public key.
        Assert.Equal(32, Convert.FromBase64String(m.Groups[1].Value).Length);

        string before = File.ReadAllText(file);
        var again = await cli.RunAsync("--config", config, "dkim", "keygen", "--domain", "example.com", "--selector", "ed", "--algorithm", "ed25519");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains($"{file} exists; not overwritten", again.StandardError, StringComparison.Ordinal);
        Assert.Equal("", again.StandardOutput);
        Assert.Equal(before, File.ReadAllText(file));
    }

    [Fact]
    public async Task UnknownAlgorithmIsAUsageError()
    {
        var r = await cli.RunAsync("dkim", "keygen", "--domain", "example.com", "--selector", "s", "--algorithm", "dsa", "--out", cli.Combine("k.pem"));
        Assert.Equal(2, r.ExitCode);
        Assert.False(File.Exists(cli.Combine("k.pem")));
    }

    [Fact]
    public async Task MissingSigningKeyStopsTheStartWithOneLineNamingDkimSign()
    {
        string data = cli.Combine("data");
        string config = cli.Config($"""
            data_dir = "{data}"
            [smtp]
            listen = ["127.0.0.1:{FreePorts.Next()}"]
            [[dkim.sign]]
            domain = "example.com"
            selector = "gone"
            """);
        var r = await cli.RunAsync("serve", "--config", config);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"postbote: dkim.sign domain example.com, selector gone, key {Path.Combine(data, "dkim", "gone._domainkey.example.com.pem")}: "
            + "no such file (make one with: postbote dkim keygen --domain example.com --selector gone)\n", r.StandardError);
    }

    [Fact]
    public async Task GarbageSigningKeyStopsTheStartWithOneLine()
    {
        string key = cli.Combine("garbage.pem");
        File.WriteAllText(key, "not a key");
        string config = cli.Config($"""
            data_dir = "{cli.Combine("data")}"
            [smtp]
            listen = ["127.0.0.1:{FreePorts.Next()}"]
            [[dkim.sign]]
            domain = "example.com"
            selector = "s"
            key = "{key}"
            """);
        var r = await cli.RunAsync("serve", "--config", config);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"postbote: dkim.sign domain example.com, selector s, key {key}: ", r.StandardError, StringComparison.Ordinal);
        Assert.Single(r.StandardError.TrimEnd('\n').Split('\n'));
    }
}
