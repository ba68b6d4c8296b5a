using Postbote.Security.Users;

namespace Postbote.Tests.Security;

public sealed class FileUserStoreTests
{
    [Fact]
    public async Task RoundTripThroughTheFile()
    {
        using var dir = new TempDirectory();
        UserRecord alice = TestUsers.Alice with { Addresses = ["a@example.com", "sales@example.com"] };
        new FileUserStore(dir.Path).AddOrUpdate(alice);
        new FileUserStore(dir.Path).AddOrUpdate(TestUsers.Admin);

        var reader = new FileUserStore(dir.Path);
        UserRecord? found = await reader.FindAsync("ALICE@EXAMPLE.COM", default);
        Assert.NotNull(found);
        Assert.Equal(alice.Name, found.Name);
        Assert.Equal(alice.PasswordHash, found.PasswordHash);
        Assert.Equal(alice.Scram.Salt.ToArray(), found.Scram.Salt.ToArray());
        Assert.Equal(alice.Scram.Iterations, found.Scram.Iterations);
        Assert.Equal(alice.Scram.StoredKey.ToArray(), found.Scram.StoredKey.ToArray());
        Assert.Equal(alice.Scram.ServerKey.ToArray(), found.Scram.ServerKey.ToArray());
        Assert.Equal(["a@example.com", "sales@example.com"], found.Addresses);
        Assert.False(found.AnySender);
        Assert.True((await reader.FindAsync("admin@example.com", default))!.AnySender);
        Assert.Equal(["admin@example.com", "alice@example.com"], reader.List().Select(u => u.Name));
        Assert.True(PasswordHasher.Verify(found.PasswordHash, TestUsers.AlicePassword));
    }

    [Fact]
    public void FileIsPrivateAndLeavesNoTemporaryFiles()
    {
        using var dir = new TempDirectory();
        var store = new FileUserStore(dir.Path);
        store.AddOrUpdate(TestUsers.Alice);
        store.AddOrUpdate(TestUsers.Alice);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath));
        Assert.Equal(["users", "users.lock"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
        Assert.Single(File.ReadAllLines(store.FilePath));
        Assert.DoesNotContain(TestUsers.AlicePassword, File.ReadAllText(store.FilePath));
    }

    [Fact]
    public async Task AChangeByAnotherProcessIsSeenWithoutRestart()
    {
        using var dir = new TempDirectory();
        var server = new FileUserStore(dir.Path);
        Assert.Null(await server.FindAsync("alice@example.com", default));

        var cli = new FileUserStore(dir.Path); // stands for `postbote user add` in another process
        cli.AddOrUpdate(TestUsers.Alice);
        Assert.NotNull(await server.FindAsync("alice@example.com", default));

        UserRecord changed = TestUsers.Alice with { AnySender = true };
        cli.AddOrUpdate(changed);
        File.SetLastWriteTimeUtc(cli.FilePath, DateTime.UtcNow.AddSeconds(5)); // even on a coarse-mtime file system
        Assert.True((await server.FindAsync("alice@example.com", default))!.AnySender);

        Assert.True(cli.Remove("Alice@Example.com"));
        File.SetLastWriteTimeUtc(cli.FilePath, DateTime.UtcNow.AddSeconds(10));
        Assert.Null(await server.FindAsync("alice@example.com", default));
        Assert.False(cli.Remove("alice@example.com"));
    }

    [Fact]
    public async Task MissingFileIsAnEmptyStore()
    {
        using var dir = new TempDirectory();
        var store = new FileUserStore(Path.Combine(dir.Path, "not-yet"));
        Assert.Empty(store.List());
        Assert.Null(await store.FindAsync("alice@example.com", default));
        store.AddOrUpdate(TestUsers.Alice);
        Assert.Single(store.List());
    }

    [Fact]
    public async Task UnreadableLineIsSkippedForLookupsButBlocksRewrites()
    {
        using var dir = new TempDirectory();
        var store = new FileUserStore(dir.Path);
        store.AddOrUpdate(TestUsers.Alice);
        File.AppendAllText(store.FilePath, "{not json\n");
        var other = new FileUserStore(dir.Path);
        Assert.NotNull(await other.FindAsync("alice@example.com", default));
        Assert.Throws<InvalidDataException>(() => other.AddOrUpdate(TestUsers.Admin));
    }

    [Fact]
    public void InvalidRecordsAreRefused()
    {
        using var dir = new TempDirectory();
        var store = new FileUserStore(dir.Path);
        Assert.Throws<ArgumentException>(() => store.AddOrUpdate(TestUsers.Alice with { Name = "bad name" }));
        Assert.Throws<ArgumentException>(() => store.AddOrUpdate(TestUsers.Alice with { PasswordHash = "plaintext" }));
        Assert.Throws<ArgumentException>(() => store.AddOrUpdate(TestUsers.Alice with { Addresses = ["a\nb"] }));
        Assert.False(File.Exists(store.FilePath));
    }
}
