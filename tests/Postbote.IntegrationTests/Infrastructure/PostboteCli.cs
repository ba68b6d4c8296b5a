using System.Text;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>Runs the built <c>postbote</c> executable once, in a temp folder of its own, and collects what it printed.</summary>
public sealed class PostboteCli : IDisposable
{
    /// <summary>Creates the temp folder.</summary>
    public PostboteCli()
    {
        var baseDir = Environment.GetEnvironmentVariable("POSTBOTE_TEST_TMP") ?? Path.Combine(Path.GetTempPath(), "postbote-it");
        Directory.CreateDirectory(baseDir);
        Dir = Path.Combine(baseDir, "cli-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Dir);
    }

    /// <summary>The working directory of every run.</summary>
    public string Dir { get; }

    /// <summary>A path inside <see cref="Dir"/>.</summary>
    public string Combine(params string[] parts) => Path.Combine([Dir, .. parts]);

    /// <summary>Writes a TOML file into <see cref="Dir"/> and returns its path.</summary>
    public string Config(string toml, string name = "postbote.toml")
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, toml);
        return path;
    }

    /// <summary>Writes a configuration with a data directory in <see cref="Dir"/>, an SMTP listener of its own on a free
    /// port (so that a configuration taken by mistake would not bind the default port), and one table.</summary>
    /// <param name="table">The table's name, e.g. <c>queue</c>.</param>
    /// <param name="body">Its keys, one per line.</param>
    /// <returns>The file's path.</returns>
    public string ConfigWithTable(string table, string body)
    {
        string data = Combine("data");
        Directory.CreateDirectory(data);
        return Config($"""
            data_dir = "{data}"
            [smtp]
            listen = ["127.0.0.1:{FreePorts.Next()}"]
            [{table}]
            {body}
            """);
    }

    /// <summary>Runs <c>dotnet postbote.dll ARGS</c> (at most 60 s).</summary>
    public async Task<ExternalProcess.Result> RunAsync(params string[] args)
    {
        await RepoLayout.EnsureServerBuiltAsync();
        return await ExternalProcess.RunAsync("dotnet", [RepoLayout.ServerDll, .. args], TimeSpan.FromSeconds(60), Dir, Encoding.UTF8.GetBytes("secret\n"));
    }

    /// <summary>Runs the executable through a wrapper command (e.g. <c>setpriv</c> or <c>unshare</c>), which ends with
    /// <c>dotnet postbote.dll ARGS</c> quoted into <paramref name="shellPrefix"/>'s shell line.</summary>
    public async Task<ExternalProcess.Result> RunInShellAsync(string fileName, IEnumerable<string> wrapperArgs, string shellPrefix, params string[] args)
    {
        await RepoLayout.EnsureServerBuiltAsync();
        var line = shellPrefix + " exec dotnet " + string.Join(' ', new[] { RepoLayout.ServerDll }.Concat(args).Select(Quote));
        return await ExternalProcess.RunAsync(fileName, [.. wrapperArgs, "sh", "-c", line], TimeSpan.FromSeconds(60), Dir);
    }

    /// <summary>Single-quotes a shell word.</summary>
    public static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Removes the temp folder.</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
        catch (UnauthorizedAccessException)
        {
            // Best effort.
        }
    }
}
