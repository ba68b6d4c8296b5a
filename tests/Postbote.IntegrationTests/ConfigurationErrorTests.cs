using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>A wrong setting stops <c>postbote serve</c> with exit status 2 and one line naming the setting and the reason.</summary>
public sealed class ConfigurationErrorTests
{
    [Theory]
    [InlineData("[limits]\ncommand_line_timeout = 0\n", "command_line_timeout must be positive")]
    [InlineData("hostname = \"\"\n", "hostname must be a domain name (letters, digits, hyphens and dots), got ''")]
    [InlineData("hostname = \"a\\u0000b\"\n", "hostname must be a domain name (letters, digits, hyphens and dots), got 'a?b'")]
    [InlineData("[limits]\nidle_timeout = 0\n", "idle_timeout must be positive")]
    [InlineData("[limits]\nmax_body_memory = -1\n", "limits.max_body_memory must be between 0 and 9223372036854775807")]
    [InlineData("[limits]\ncommand_line_timeout = \"soon\"\n", "limits.command_line_timeout must be a non-negative number of seconds")]
    [InlineData("[limits]\nhop_count_limit = -1\n", "limits.hop_count_limit must be between 0 and 10000")]
    public async Task AWrongLimitIsOneLineNamingTheSetting(string toml, string reason)
    {
        await RepoLayout.EnsureServerBuiltAsync();
        var dir = Path.Combine(Path.GetTempPath(), "postbote-config-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        try
        {
            var path = Path.Combine(dir, "postbote.toml");
            await File.WriteAllTextAsync(path, "data_dir = \"" + Path.Combine(dir, "data") + "\"\n" + toml);
            var result = await ExternalProcess.RunAsync("dotnet", [RepoLayout.ServerDll, "serve", "--config", path], TimeSpan.FromSeconds(60), dir);
            Assert.Equal(2, result.ExitCode);
            Assert.Equal($"postbote: {path}: {reason}\n", result.StandardError.Replace("\r\n", "\n", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
