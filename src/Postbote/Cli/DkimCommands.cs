using System.CommandLine;
using Postbote.Dkim;
using Postbote.Host.Configuration;

namespace Postbote.Host.Cli;

/// <summary>
/// <c>postbote dkim keygen --domain D --selector S [--algorithm rsa|ed25519] [--out FILE]</c>: makes a DKIM key pair
/// (RSA 2048 bits by default, or Ed25519, RFC 8463), writes the private key as PKCS#8 PEM with mode 0600 to FILE or to
/// <c>{data_dir}/dkim/S._domainkey.D.pem</c> (the path <c>[[dkim.sign]]</c> reads by default), never over an existing
/// file, and prints the DNS TXT record to publish on standard output. Exit codes: 0 written, 1 the file exists or
/// cannot be written, 2 usage.
/// </summary>
internal static class DkimCommands
{
    /// <summary>Builds the <c>dkim</c> command.</summary>
    /// <param name="withConfiguration">Runs an action with the configuration of <c>--config</c> (exit code 2 when it
    /// cannot be read).</param>
    /// <param name="withDataDirectory">Runs an action with the configuration, saying which data directory is used and
    /// that it will be created when missing.</param>
    /// <param name="stdout">Where the TXT record goes.</param>
    /// <param name="stderr">Where the file written and errors go.</param>
    /// <returns>The command.</returns>
    public static Command Build(Func<ParseResult, Func<PostboteConfiguration, int>, int> withConfiguration,
        Func<ParseResult, Func<PostboteConfiguration, int>, int> withDataDirectory, TextWriter stdout, TextWriter stderr)
    {
        var dkim = new Command("dkim", "DKIM signing keys");
        var domain = new Option<string>("--domain") { Description = "the signing domain (d=), e.g. example.com", Required = true, HelpName = "D" };
        var selector = new Option<string>("--selector") { Description = "the selector (s=), e.g. 2025a", Required = true, HelpName = "S" };
        var algorithm = new Option<string>("--algorithm")
        {
            Description = "rsa (2048 bits, the default) or ed25519 (RFC 8463)",
            HelpName = "rsa|ed25519",
            DefaultValueFactory = _ => "rsa",
        };
        algorithm.AcceptOnlyFromAmong("rsa", "ed25519");
        var output = new Option<string?>("--out") { Description = "the private key file (default {data_dir}/dkim/S._domainkey.D.pem)", HelpName = "FILE" };
        var keygen = new Command("keygen", "make a key pair: write the private key (PEM, mode 0600, never over an existing file) and print the DNS TXT record")
        {
            domain, selector, algorithm, output,
        };
        keygen.SetAction(r =>
        {
            string d = r.GetValue(domain)!.Trim().TrimEnd('.').ToLowerInvariant();
            string s = r.GetValue(selector)!.Trim();
            if (!IsDomain(d)) return Usage(stderr, $"--domain: '{d}' is not a domain name");
            if (!IsDomain(s) || s.Length > 63) return Usage(stderr, $"--selector: '{s}' is not a selector (letters, digits, hyphens, dots)");
            DkimAlgorithm a = r.GetValue(algorithm) == "ed25519" ? DkimAlgorithm.Ed25519Sha256 : DkimAlgorithm.RsaSha256;
            string? path = r.GetValue(output);
            return path is not null
                ? withConfiguration(r, _ => Generate(path, d, s, a, stdout, stderr))
                : withDataDirectory(r, c => Generate(DkimSignEntry.DefaultKeyPath(c.DataDirectory, d, s), d, s, a, stdout, stderr));
        });
        dkim.Subcommands.Add(keygen);
        return dkim;
    }

    private static int Generate(string path, string domain, string selector, DkimAlgorithm algorithm, TextWriter stdout, TextWriter stderr)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full) || Directory.Exists(full))
        {
            stderr.WriteLine($"postbote: {full} exists; not overwritten (remove it first, or give --out FILE)");
            return 1;
        }
        DkimGeneratedKey key = DkimKeyGenerator.Generate(algorithm);
        try
        {
            string? dir = Path.GetDirectoryName(full);
            if (dir is not null && !Directory.Exists(dir))
            {
                if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
                else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            // CreateNew: an existing file (made meanwhile) is never overwritten; the mode is set at creation, so the key is
            // never readable by others, whatever the umask.
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var file = new FileStream(full, options);
            using var writer = new StreamWriter(file);
            writer.Write(key.PrivateKeyPem);
        }
        catch (IOException e) when (File.Exists(full) && e.HResult != 0 && e is not DirectoryNotFoundException)
        {
            stderr.WriteLine($"postbote: {full} exists; not overwritten");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"postbote: {full}: {e.Message}");
            return 1;
        }
        stderr.WriteLine($"postbote: wrote the {(algorithm == DkimAlgorithm.RsaSha256 ? "RSA 2048" : "Ed25519")} private key to {full} (mode 0600); publish this record:");
        stdout.WriteLine(key.TxtRecord(domain, selector));
        return 0;
    }

    private static bool IsDomain(string s) =>
        s.Length is > 0 and <= 253 && s.All(static ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.')
        && !s.StartsWith('.') && !s.EndsWith('.') && !s.Contains("..", StringComparison.Ordinal);

    private static int Usage(TextWriter stderr, string message)
    {
        stderr.WriteLine("postbote: " + message);
        stderr.WriteLine("see 'postbote dkim keygen --help'");
        return 2;
    }
}
