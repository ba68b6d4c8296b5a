namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>Small tmpfs mounts that a test fills to make a file system full (needs root).</summary>
public static class Tmpfs
{
    /// <summary>Mounts a tmpfs of <paramref name="size"/> (mount's syntax: <c>16m</c>) on <paramref name="path"/>.</summary>
    public static void Mount(string path, string size)
    {
        Directory.CreateDirectory(path);
        var r = ExternalProcess.RunAsync("mount", ["-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", path], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        Assert.True(r.ExitCode == 0, $"this test mounts a tmpfs and needs root: mount said {r.Output}");
    }

    /// <summary>Unmounts (lazily) what <see cref="Mount"/> mounted.</summary>
    public static void Unmount(string path) =>
        ExternalProcess.RunAsync("umount", ["-l", path], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    /// <summary>Writes a file until the file system has no byte left; returns its path.</summary>
    public static string Fill(string directory, string name = "filler")
    {
        string path = Path.Combine(directory, name);
        var chunk = new byte[64 * 1024];
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            for (int i = 0; i < 100_000; i++) f.Write(chunk);
        }
        catch (IOException)
        {
        }
        try
        {
            for (int i = 0; i < 100_000; i++) f.Write(chunk, 0, 1);
        }
        catch (IOException)
        {
        }
        return path;
    }
}
