using System.Reflection;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>Where the repository, the shared folder and the built server are, seen from the test assembly.</summary>
public static class RepoLayout
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);
    private static readonly SemaphoreSlim BuildLock = new(1, 1);
    private static bool built;

    /// <summary>The directory that holds Postbote.slnx.</summary>
    public static string Root => RootLazy.Value;

    /// <summary>The shared folder: $POSTBOTE_SHARED, else the folder "shared" beside the repository.</summary>
    public static string SharedDir
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("POSTBOTE_SHARED");
            if (!string.IsNullOrEmpty(fromEnv))
            {
                return Path.GetFullPath(fromEnv);
            }

            return Path.GetFullPath(Path.Combine(Root, "..", "shared"));
        }
    }

    /// <summary>The case runner and its case file.</summary>
    public static string CasesDir => Path.Combine(SharedDir, "cases");

    /// <summary>The build configuration the tests were built with (Release under ./test.sh).</summary>
    public static string Configuration =>
        typeof(RepoLayout).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "PostboteConfiguration")?.Value ?? "Release";

    /// <summary>The server's entry assembly: $POSTBOTE_SERVER_DLL, else src/Postbote/bin/&lt;Configuration&gt;/net10.0/postbote.dll.</summary>
    public static string ServerDll
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("POSTBOTE_SERVER_DLL");
            if (!string.IsNullOrEmpty(fromEnv))
            {
                return Path.GetFullPath(fromEnv);
            }

            return Path.Combine(Root, "src", "Postbote", "bin", Configuration, "net10.0", "postbote.dll");
        }
    }

    /// <summary>
    /// Makes sure the server is built. The test project's ProjectReference builds it before the tests run; this is the
    /// fallback for a test host started without that build (it runs <c>dotnet build src/Postbote</c> once).
    /// </summary>
    public static async Task EnsureServerBuiltAsync()
    {
        await BuildLock.WaitAsync();
        try
        {
            if (built || File.Exists(ServerDll))
            {
                built = true;
                return;
            }

            var result = await ExternalProcess.RunAsync(
                "dotnet",
                ["build", Path.Combine(Root, "src", "Postbote"), "-c", Configuration, "--nologo", "-v", "q"],
                TimeSpan.FromMinutes(8),
                workingDirectory: Root);
            if (result.ExitCode != 0 || !File.Exists(ServerDll))
            {
                throw new InvalidOperationException(
                    $"building the server failed (exit {result.ExitCode}), {ServerDll} missing:\n{result.Output}");
            }

            built = true;
        }
        finally
        {
            BuildLock.Release();
        }
    }

    private static string FindRoot()
    {
        var fromEnv = Environment.GetEnvironmentVariable("POSTBOTE_REPO");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return Path.GetFullPath(fromEnv);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Postbote.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"no Postbote.slnx above {AppContext.BaseDirectory}; set POSTBOTE_REPO to the repository root");
    }
}
