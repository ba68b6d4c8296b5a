using System.Globalization;
using System.Text;
using Postbote.Core;
using Postbote.IntegrationTests.Infrastructure;
using Postbote.MailStore;
using Postbote.Testing.Dovecot;

namespace Postbote.IntegrationTests;

/// <summary>A POP3 server with two users for the Dovecot tests, one mailbox each.</summary>
public sealed class DovecotImapServerFixture : Pop3ServerFixture
{
    /// <inheritdoc/>
    protected override int UserCount => 2;
}

/// <summary>Dovecot's IMAP server (Debian's dovecot-imapd) reads the Maildir Postbote wrote, with the configuration of
/// docs/dovecot.md: Python's imaplib sees the messages with their sizes and marks one \Seen, and Postbote's POP3 then
/// lists the same UIDLs as Dovecot's own POP3 server on the same Maildir (pop3_uidl_format = %f).</summary>
public sealed class DovecotImapTests(DovecotImapServerFixture fixture) : IClassFixture<DovecotImapServerFixture>
{
    /// <summary>Dovecot's own password for every user (its static passdb takes no spaces).</summary>
    private const string DovecotPassword = "dovecot-s3cret";

    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Scripts", "imaplib_check.py");

    [Fact]
    public async Task DovecotServesPostbotesMaildirAndBothPop3ServersListTheSameUidls()
    {
        PostboteServer server = fixture.Server;
        string user = Pop3ServerFixture.User(1);
        var delivered = await fixture.DeliverAsync(user, SmtpDialog.SampleMessage(SmtpDialog.NewMarker("imap1")),
            SmtpDialog.SampleMessage(SmtpDialog.NewMarker("imap2-longer-marker")));
        await using var dovecot = await DovecotImapServer.StartAsync(server.MaildirRoot, DovecotPassword);
        var result = await ExternalProcess.RunAsync("python3",
            [Script, dovecot.ImapPort.ToString(CultureInfo.InvariantCulture), user, DovecotPassword], TimeSpan.FromSeconds(60));
        string context = $"\n--- imaplib (exit {result.ExitCode}) ---\n{result.Output}\n--- dovecot log ---\n{dovecot.Log}";
        Assert.True(result.ExitCode == 0, context);
        Assert.Contains("EXISTS 2\n", result.StandardOutput, StringComparison.Ordinal);
        for (int i = 0; i < 2; i++)
        {
            Assert.Matches($@"FETCH {i + 1} \(UID {i + 1} RFC822\.SIZE {delivered[i].Raw.Length} FLAGS \(\\Recent\)\)", result.StandardOutput);
        }

        Assert.Matches(@"AFTER 1 \(FLAGS \(\\Seen \\Recent\)\)", result.StandardOutput);
        string seenFile = Assert.Single(Directory.GetFiles(Path.Combine(server.Mailbox(user).Path, "cur"), "*:2,S"));
        Assert.StartsWith(Path.GetFileName(delivered[0].FilePath) + ":", Path.GetFileName(seenFile), StringComparison.Ordinal);

        string dovecotUidl;
        using (var pop = await Pop3Dialog.ConnectAsync(dovecot.Pop3Port, tls: false))
        {
            Assert.StartsWith("+OK", await pop.LoginAsync(user, DovecotPassword), StringComparison.Ordinal);
            Assert.StartsWith("+OK", await pop.CommandAsync("UIDL"), StringComparison.Ordinal);
            dovecotUidl = Encoding.ASCII.GetString(await pop.ReadMultiLineAsync());
            await pop.CommandAsync("QUIT");
        }

        using (var pop = await Pop3Dialog.ConnectAsync(server.Pop3TlsPort, tls: true))
        {
            Assert.StartsWith("+OK Logged in, 2 messages", await pop.LoginAsync(user, Pop3ServerFixture.Password), StringComparison.Ordinal);
            Assert.Equal("+OK Unique-ID listing follows", await pop.CommandAsync("UIDL"));
            string ours = Encoding.ASCII.GetString(await pop.ReadMultiLineAsync());
            Assert.Equal($"1 {Path.GetFileName(delivered[0].FilePath)}\r\n2 {Path.GetFileName(delivered[1].FilePath)}\r\n.\r\n", ours);
            Assert.Equal(dovecotUidl, ours);
            Assert.Equal($"+OK 1 {delivered[0].Raw.Length}", await pop.CommandAsync("LIST 1"));
            Assert.StartsWith("+OK", await pop.CommandAsync("RETR 1"), StringComparison.Ordinal);
            Assert.Equal(delivered[0].Raw, Pop3Dialog.Unstuff(await pop.ReadMultiLineAsync()));
            await pop.CommandAsync("QUIT");
        }
    }

    /// <summary>
    /// Dovecot numbers new messages by the seconds of the name, then by the digits after the first <c>M</c> of its middle
    /// part (as microseconds), then by name. Queue IDs hold <c>M</c> followed by digits now and then; when the queue ID
    /// came first in the name, Dovecot took those digits for microseconds and numbered such messages out of arrival
    /// order and differently from Postbote's POP3 (about one run in fifteen of the test above). Here three messages
    /// of one second carry the names Postbote's delivery gives them, the first with such a queue ID: Dovecot's POP3
    /// and Postbote's must both list them in arrival order.
    /// </summary>
    [Fact]
    public async Task QueueIdWithMAndDigitsDoesNotReorderDovecotsMessages()
    {
        PostboteServer server = fixture.Server;
        string user = Pop3ServerFixture.User(2);
        var store = new MaildirStore(server.MaildirRoot, "mx.example.com");
        string maildir = store.GetMaildirPath(user);
        store.EnsureMaildir(maildir, new HashSet<string>(StringComparer.Ordinal));
        var second = new DateTimeOffset(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);
        (TimeSpan At, string QueueId)[] arrivals =
        [
            (TimeSpan.FromMicroseconds(100), "000000M999999999"),
            (TimeSpan.FromMicroseconds(200), "000000P000000000"),
            (TimeSpan.FromMicroseconds(300), "000000P000000001"),
        ];
        var names = new List<string>();
        foreach (var (at, id) in arrivals)
        {
            byte[] content = SmtpDialog.SampleMessage(SmtpDialog.NewMarker("order"));
            string name = MaildirStore.WithSizes(store.GetUniqueName(second + at, new QueueId(id), user), content.Length, content.Length);
            await File.WriteAllBytesAsync(Path.Combine(MaildirStore.NewDirectory(maildir), name), content);
            names.Add(name);
        }

        string expected = $"1 {names[0]}\r\n2 {names[1]}\r\n3 {names[2]}\r\n.\r\n";
        await using var dovecot = await DovecotImapServer.StartAsync(server.MaildirRoot, DovecotPassword);
        using (var pop = await Pop3Dialog.ConnectAsync(dovecot.Pop3Port, tls: false))
        {
            Assert.StartsWith("+OK", await pop.LoginAsync(user, DovecotPassword), StringComparison.Ordinal);
            Assert.StartsWith("+OK", await pop.CommandAsync("UIDL"), StringComparison.Ordinal);
            string dovecotUidl = Encoding.ASCII.GetString(await pop.ReadMultiLineAsync());
            Assert.True(expected == dovecotUidl, $"Dovecot's order:\n{dovecotUidl}\n--- dovecot log ---\n{dovecot.Log}");
            await pop.CommandAsync("QUIT");
        }

        using (var pop = await Pop3Dialog.ConnectAsync(server.Pop3TlsPort, tls: true))
        {
            Assert.StartsWith("+OK Logged in, 3 messages", await pop.LoginAsync(user, Pop3ServerFixture.Password), StringComparison.Ordinal);
            Assert.Equal("+OK Unique-ID listing follows", await pop.CommandAsync("UIDL"));
            Assert.Equal(expected, Encoding.ASCII.GetString(await pop.ReadMultiLineAsync()));
            await pop.CommandAsync("QUIT");
        }
    }
}
