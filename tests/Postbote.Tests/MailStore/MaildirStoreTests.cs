using System.Globalization;
using Postbote.Core;
using Postbote.IO;
using Postbote.MailStore;
using Postbote.Tests.Queue;

namespace Postbote.Tests.MailStore;

public sealed class MaildirStoreTests : IDisposable
{
    private static readonly DateTimeOffset Received = new(2024, 3, 4, 5, 6, 7, TimeSpan.Zero);
    private static readonly QueueId Id = new("0123456789ABCDEF");

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void UniqueNameIsDeterministicAndEscapesTheHost()
    {
        var store = new MaildirStore(_dir.Combine("mail"), "mx/1:25");
        uint hash = Crc32C.Compute("alice@example.com"u8);
        string expected = "1709528767.M000000Q0123456789ABCDEFH" + hash.ToString("X8", CultureInfo.InvariantCulture) + ".mx\\0571\\07225";
        Assert.Equal(expected, store.GetUniqueName(Received, Id, "alice@example.com"));
        Assert.NotEqual(store.GetUniqueName(Received, Id, "alice@example.com"), store.GetUniqueName(Received, Id, "bob@example.com"));
    }

    /// <summary>Dovecot reads the digits after the first <c>M</c> of the middle part as microseconds and orders by them
    /// before the name; a queue ID with <c>M</c> and digits in it must not come before that field.</summary>
    [Fact]
    public void QueueIdWithMAndDigitsIsNotTakenForMicroseconds()
    {
        var store = new MaildirStore(_dir.Combine("mail"), "h");
        var at = Received.AddTicks(1_234_567);
        string name = store.GetUniqueName(at, new QueueId("000000M999999999"), "alice@example.com");
        Assert.StartsWith("1709528767.M123456Q000000M999999999H", name, StringComparison.Ordinal);

        // Arrival order (time, then queue ID) is the order of the names, whatever the queue IDs hold.
        string[] arrival =
        [
            store.GetUniqueName(Received.AddTicks(10), new QueueId("000000M999999999"), "alice@example.com"),
            store.GetUniqueName(Received.AddTicks(10), new QueueId("000000P000000000"), "alice@example.com"),
            store.GetUniqueName(Received.AddTicks(99_990), new QueueId("000000000000M000"), "alice@example.com"),
            store.GetUniqueName(Received.AddTicks(100_000), new QueueId("0000000000000000"), "alice@example.com"),
            store.GetUniqueName(Received.AddTicks(9_999_990), new QueueId("0000000000000000"), "alice@example.com"),
            store.GetUniqueName(Received.AddSeconds(1), new QueueId("0000000000000000"), "alice@example.com"),
        ];
        Assert.Equal(arrival, arrival.Order(StringComparer.Ordinal));
        Assert.Contains(".M999999Q", arrival[4], StringComparison.Ordinal);
    }

    [Fact]
    public void FileNameCarriesStoredAndCrlfSizes() =>
        Assert.Equal("1.Q1M2.h,S=1234,W=1300", MaildirStore.WithSizes("1.Q1M2.h", 1234, 1300));

    [Fact]
    public void MaildirPathIsDomainThenUserInLowerCase()
    {
        var store = new MaildirStore(_dir.Combine("mail"), "h");
        Assert.Equal(_dir.Combine("mail", "example.com", "alice"), store.GetMaildirPath("Alice@Example.COM"));
    }

    [Theory]
    [InlineData("..@example.com")]
    [InlineData("a/b@example.com")]
    [InlineData("alice@..")]
    [InlineData("alice")]
    [InlineData("@example.com")]
    public void UnsafeMailboxHasNoMaildir(string mailbox) =>
        Assert.Throws<ArgumentException>(() => new MaildirStore(_dir.Combine("mail"), "h").GetMaildirPath(mailbox));

    [Fact]
    public void EnsureMaildirCreatesTheThreeFoldersAndReportsNewDirectories()
    {
        var store = new MaildirStore(_dir.Combine("mail"), "h");
        string maildir = store.GetMaildirPath("alice@example.com");
        var created = new HashSet<string>(StringComparer.Ordinal);
        store.EnsureMaildir(maildir, created);
        Assert.Equal(["cur", "new", "tmp"], Directory.GetDirectories(maildir).Select(Path.GetFileName).Order());
        Assert.Equal(new[] { maildir, _dir.Combine("mail", "example.com"), store.Root }.Order(), created.Order());

        string bob = store.GetMaildirPath("bob@example.com");
        created.Clear();
        store.EnsureMaildir(bob, created);
        Assert.Equal([bob], created);
    }

    [Theory]
    [InlineData("new", "")]
    [InlineData("new", ",S=10,W=11")]
    [InlineData("cur", ",S=10,W=11:2,S")]
    [InlineData("cur", ":2,RS")]
    public void AnEarlierCopyIsFoundInNewOrCur(string folder, string suffix)
    {
        var store = new MaildirStore(_dir.Combine("mail"), "h");
        string maildir = store.GetMaildirPath("alice@example.com");
        store.EnsureMaildir(maildir, new HashSet<string>());
        string name = store.GetUniqueName(Received, Id, "alice@example.com");
        Assert.False(MaildirStore.ContainsMessage(maildir, name));
        File.WriteAllText(Path.Combine(maildir, folder, name + suffix), "x");
        Assert.True(MaildirStore.ContainsMessage(maildir, name));
    }

    [Fact]
    public void ANameThatOnlyStartsTheSameIsAnotherMessage()
    {
        var store = new MaildirStore(_dir.Combine("mail"), "h");
        string maildir = store.GetMaildirPath("alice@example.com");
        store.EnsureMaildir(maildir, new HashSet<string>());
        string name = store.GetUniqueName(Received, Id, "alice@example.com");
        File.WriteAllText(Path.Combine(maildir, "new", name + "x,S=1,W=1"), "x");
        File.WriteAllText(Path.Combine(maildir, "tmp", name), "x");
        Assert.False(MaildirStore.ContainsMessage(maildir, name));
    }

    [Fact]
    public void NewFileIsInvisibleUntilNamedInNew()
    {
        var store = new MaildirStore(_dir.Combine("mail"), "h");
        string maildir = store.GetMaildirPath("alice@example.com");
        var created = new HashSet<string>();
        store.EnsureMaildir(maildir, created);
        string name = store.GetUniqueName(Received, Id, "alice@example.com");
        using (var handle = store.OpenNewFile(maildir, name, created, out bool unnamed))
        {
            RandomAccess.Write(handle, "hello\n"u8, 0);
            Assert.Empty(Directory.GetFiles(Path.Combine(maildir, "new")));
            if (unnamed)
            {
                MaildirStore.LinkIntoNew(handle, maildir, MaildirStore.WithSizes(name, 6, 7));
            }
            else
            {
                handle.Dispose();
                MaildirStore.MoveIntoNew(maildir, name, MaildirStore.WithSizes(name, 6, 7));
            }
        }
        string file = Assert.Single(Directory.GetFiles(Path.Combine(maildir, "new")));
        Assert.Equal(name + ",S=6,W=7", Path.GetFileName(file));
        Assert.Equal("hello\n", File.ReadAllText(file));
        Assert.Empty(Directory.GetFiles(Path.Combine(maildir, "tmp")));
    }

    [Theory]
    [InlineData("a\r\nb\r\n", "a\nb\n")]
    [InlineData("a\rb\r\n\r", "a\rb\n\r")]
    [InlineData("\r\n\r\n", "\n\n")]
    public void CrlfBecomesLfAndALoneCrStays(string input, string expected)
    {
        byte[] source = System.Text.Encoding.ASCII.GetBytes(input);
        // Every split into two chunks: a CR at the end of the first waits for the second.
        for (int split = 0; split <= source.Length; split++)
        {
            var output = new List<byte>();
            bool pendingCr = false;
            byte[] buffer = new byte[source.Length + 1];
            int n = LineEnds.DropCarriageReturns(source.AsSpan(0, split), buffer, ref pendingCr, last: false);
            output.AddRange(buffer.AsSpan(0, n).ToArray());
            n = LineEnds.DropCarriageReturns(source.AsSpan(split), buffer, ref pendingCr, last: true);
            output.AddRange(buffer.AsSpan(0, n).ToArray());
            Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(output.ToArray()));
        }
    }
}
