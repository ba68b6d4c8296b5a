using System.Text;
using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>The POP3 session over real TCP against the built server: exact bytes of RETR and TOP, the UPDATE state
/// (RFC 1939 §6), [IN-USE] (RFC 2449 §8.1.2), what is offered before TLS (RFC 2595), and a -ERR for every bad input.</summary>
public sealed class Pop3SessionTests(Pop3ServerFixture fixture) : IClassFixture<Pop3ServerFixture>
{
    private PostboteServer Server => fixture.Server;

    private static byte[] Message(string marker) => SmtpDialog.SampleMessage(marker);

    private async Task<Pop3Dialog> LoginAsync(string user)
    {
        var pop = await Pop3Dialog.ConnectAsync(Server.Pop3TlsPort, tls: true);
        string reply = await pop.LoginAsync(user, Pop3ServerFixture.Password);
        Assert.True(reply.StartsWith("+OK", StringComparison.Ordinal), pop.Transcript + Server.Diagnostics());
        return pop;
    }

    [Fact]
    public async Task RetrSendsTheStoredMessageWithCrlfAndDotStuffingAndTheSizeListAnnounced()
    {
        string user = Pop3ServerFixture.User(1);
        var delivered = await fixture.DeliverAsync(user, Message(SmtpDialog.NewMarker("retr")));
        byte[] expected = delivered[0].Raw; // the stored file with CRLF line ends (its W= size)
        Assert.NotEqual(new FileInfo(delivered[0].FilePath).Length, expected.Length); // stored with LF: a real conversion
        using var pop = await LoginAsync(user);
        Assert.Equal($"+OK 1 {expected.Length}", await pop.CommandAsync("LIST 1"));
        Assert.Equal($"+OK {expected.Length} octets", await pop.CommandAsync("RETR 1"));
        byte[] body = await pop.ReadMultiLineAsync();
        Assert.Equal(expected, Pop3Dialog.Unstuff(body));
        string wire = Encoding.ASCII.GetString(body);
        Assert.Contains("\r\n\r\n..a line that starts with a dot\r\n...two dots\r\n", wire, StringComparison.Ordinal);
        Assert.EndsWith("last line\r\n.\r\n", wire, StringComparison.Ordinal);
        Assert.Equal(body.Length, expected.Length + 2 + 3); // two stuffed dots and ".CRLF"
    }

    [Fact]
    public async Task TopSendsTheHeaderTheEmptyLineAndNBodyLines()
    {
        string user = Pop3ServerFixture.User(2);
        string marker = SmtpDialog.NewMarker("top");
        var delivered = await fixture.DeliverAsync(user, Message(marker));
        string text = Encoding.ASCII.GetString(delivered[0].Raw);
        int headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        using var pop = await LoginAsync(user);
        Assert.StartsWith("+OK", await pop.CommandAsync("TOP 1 0"), StringComparison.Ordinal);
        Assert.Equal(text[..headerEnd] + ".\r\n", Encoding.ASCII.GetString(await pop.ReadMultiLineAsync()));
        Assert.StartsWith("+OK", await pop.CommandAsync("TOP 1 3"), StringComparison.Ordinal);
        Assert.Equal(text[..headerEnd] + $"body of {marker}\r\n\r\n..a line that starts with a dot\r\n.\r\n",
            Encoding.ASCII.GetString(await pop.ReadMultiLineAsync()));
        Assert.StartsWith("+OK", await pop.CommandAsync("TOP 1 1000"), StringComparison.Ordinal);
        Assert.Equal(delivered[0].Raw, Pop3Dialog.Unstuff(await pop.ReadMultiLineAsync()));
    }

    /// <summary>RFC 1939 §6: only QUIT in the TRANSACTION state deletes; RSET unmarks; a dropped connection changes
    /// nothing. Each row: the commands after login, whether the client QUITs or drops the connection, and the message
    /// numbers (of three) left afterwards.</summary>
    [Theory]
    [InlineData(3, "DELE 1", false, "1,2,3")]
    [InlineData(4, "DELE 1", true, "2,3")]
    [InlineData(5, "DELE 1|DELE 3|RSET", true, "1,2,3")]
    [InlineData(6, "DELE 2|RSET|DELE 3", true, "1,2")]
    [InlineData(7, "DELE 1|DELE 2|DELE 3", true, "")]
    [InlineData(8, "DELE 1|DELE 2|DELE 3", false, "1,2,3")]
    public async Task UpdateStateTable(int userIndex, string commands, bool quit, string left)
    {
        string user = Pop3ServerFixture.User(userIndex);
        var markers = Enumerable.Range(1, 3).Select(i => SmtpDialog.NewMarker($"upd{i}")).ToArray();
        await fixture.DeliverAsync(user, markers.Select(Message).ToArray());
        using (var pop = await LoginAsync(user))
        {
            foreach (string command in commands.Split('|'))
            {
                Assert.True((await pop.CommandAsync(command)).StartsWith("+OK", StringComparison.Ordinal), pop.Transcript);
            }

            if (quit)
            {
                int deleted = 3 - (left.Length == 0 ? 0 : left.Split(',').Length);
                Assert.Equal($"+OK Bye, {deleted} messages deleted", await pop.CommandAsync("QUIT"));
                Assert.True(await pop.ClosedAsync());
            }
        }

        // The lock is released at once after a drop too: a new session gets in and sees what is left.
        string[] expected = left.Length == 0 ? [] : left.Split(',').Select(i => markers[int.Parse(i, System.Globalization.CultureInfo.InvariantCulture) - 1]).ToArray();
        await WaitForUnlockAsync(user);
        var remaining = Server.Mailbox(user).Messages();
        Assert.Equal(expected, expected.Where(m => remaining.Any(r => r.Contains(m))).ToArray());
        Assert.Equal(expected.Length, remaining.Count);
    }

    private async Task WaitForUnlockAsync(string user)
    {
        for (int i = 0; i < 100; i++)
        {
            using var pop = await Pop3Dialog.ConnectAsync(Server.Pop3TlsPort, tls: true);
            if ((await pop.LoginAsync(user, Pop3ServerFixture.Password)).StartsWith("+OK", StringComparison.Ordinal))
            {
                await pop.CommandAsync("QUIT");
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{user} stayed locked{Server.Diagnostics()}");
    }

    [Fact]
    public async Task RetrievedMessagesMoveToCurWithTheSeenFlagAtQuitAndKeepTheirUidl()
    {
        string user = Pop3ServerFixture.User(9);
        var delivered = await fixture.DeliverAsync(user, Message(SmtpDialog.NewMarker("seen1")), Message(SmtpDialog.NewMarker("seen2")));
        string[] names = delivered.Select(m => Path.GetFileName(m.FilePath)!).ToArray();
        using (var pop = await LoginAsync(user))
        {
            Assert.StartsWith("+OK", await pop.CommandAsync("UIDL"), StringComparison.Ordinal);
            Assert.Equal($"1 {names[0]}\r\n2 {names[1]}\r\n.\r\n", Encoding.ASCII.GetString(await pop.ReadMultiLineAsync()));
            Assert.StartsWith("+OK", await pop.CommandAsync("RETR 2"), StringComparison.Ordinal);
            await pop.ReadMultiLineAsync();
            Assert.StartsWith("+OK", await pop.CommandAsync("TOP 1 0"), StringComparison.Ordinal);
            await pop.ReadMultiLineAsync();
            Assert.True(File.Exists(delivered[1].FilePath), "nothing moves before QUIT");
            Assert.Equal("+OK Bye, 0 messages deleted", await pop.CommandAsync("QUIT"));
        }

        string maildir = Server.Mailbox(user).Path;
        Assert.Equal(new[] { names[0] }, Directory.GetFiles(Path.Combine(maildir, "new")).Select(f => Path.GetFileName(f)).ToArray());
        Assert.Equal(new[] { names[1] + ":2,S" }, Directory.GetFiles(Path.Combine(maildir, "cur")).Select(f => Path.GetFileName(f)).ToArray());
        using var again = await LoginAsync(user);
        Assert.Equal($"+OK 2 {names[1]}", await again.CommandAsync("UIDL 2"));
    }

    [Fact]
    public async Task ASecondConcurrentLoginGetsInUseAndStaysInAuthorization()
    {
        string user = Pop3ServerFixture.User(10);
        await fixture.DeliverAsync(user, Message(SmtpDialog.NewMarker("inuse")));
        using var first = await LoginAsync(user);
        using var second = await Pop3Dialog.ConnectAsync(Server.Pop3Port, tls: false);
        await second.StartTlsAsync();
        Assert.Equal("-ERR [IN-USE] Mailbox is locked by another POP3 session", await second.LoginAsync(user, Pop3ServerFixture.Password));
        Assert.Equal("-ERR Command not valid in this state", await second.CommandAsync("STAT"));
        Assert.StartsWith("+OK", await first.CommandAsync("QUIT"), StringComparison.Ordinal);
        Assert.StartsWith("+OK Logged in, 1 messages", await second.LoginAsync(user, Pop3ServerFixture.Password), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BeforeTlsNeitherUserNorPlainIsOfferedOrAccepted()
    {
        using var pop = await Pop3Dialog.ConnectAsync(Server.Pop3Port, tls: false);
        Assert.Equal("+OK mx.test POP3 server ready", pop.Greeting);
        Assert.Equal("+OK Capability list follows", await pop.CommandAsync("CAPA"));
        Assert.Equal("TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nSASL SCRAM-SHA-256\r\nSTLS\r\nIMPLEMENTATION Postbote\r\n.\r\n",
            Encoding.ASCII.GetString(await pop.ReadMultiLineAsync()));
        Assert.Equal("-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections", await pop.CommandAsync("USER " + Pop3ServerFixture.User(11)));
        Assert.Equal("-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections", await pop.CommandAsync("AUTH PLAIN"));
        await pop.StartTlsAsync();
        Assert.Equal("+OK Capability list follows", await pop.CommandAsync("CAPA"));
        Assert.Equal("TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL SCRAM-SHA-256 PLAIN LOGIN\r\nIMPLEMENTATION Postbote\r\n.\r\n",
            Encoding.ASCII.GetString(await pop.ReadMultiLineAsync()));
        Assert.Equal("-ERR Command not permitted when TLS active", await pop.CommandAsync("STLS"));
        Assert.StartsWith("+OK Logged in", await pop.LoginAsync(Pop3ServerFixture.User(11), Pop3ServerFixture.Password), StringComparison.Ordinal);
        Assert.Equal("-ERR [AUTH] Authentication failed", await (await Pop3Dialog.ConnectAsync(Server.Pop3TlsPort, tls: true)).LoginAsync(Pop3ServerFixture.User(12), "wrong"));
    }

    /// <summary>Every bad input gets one clear -ERR and the session goes on (RFC 1939 §3, RFC 2449 §4). Each row: the
    /// state it is sent in (A = AUTHORIZATION, T = TRANSACTION with two messages) and the exact reply.</summary>
    [Theory]
    [InlineData("A", "XYZZY", "-ERR Unknown command")]
    [InlineData("A", "", "-ERR Unknown command")]
    [InlineData("A", "RETRIEVE 1", "-ERR Unknown command")]
    [InlineData("A", "STAT", "-ERR Command not valid in this state")]
    [InlineData("A", "RETR 1", "-ERR Command not valid in this state")]
    [InlineData("A", "PASS secret", "-ERR USER first")]
    [InlineData("A", "USER", "-ERR Syntax: USER name")]
    [InlineData("A", "APOP alice 0123456789abcdef", "-ERR APOP is not supported")]
    [InlineData("A", "AUTH CRAM-MD5", "-ERR Unsupported authentication mechanism")]
    [InlineData("A", "AUTH PLAIN !!!", "-ERR Invalid base64 data")]
    [InlineData("A", "STLS now", "-ERR Syntax: STLS")]
    [InlineData("A", "STLS", "-ERR Command not permitted when TLS active")]
    [InlineData("A", "NOOP\u0001", "-ERR Invalid characters in command")]
    [InlineData("T", "RETR 0", "-ERR Invalid message number")]
    [InlineData("T", "RETR 3", "-ERR No such message")]
    [InlineData("T", "RETR 99999999999", "-ERR Invalid message number")]
    [InlineData("T", "RETR -1", "-ERR Invalid message number")]
    [InlineData("T", "RETR x", "-ERR Invalid message number")]
    [InlineData("T", "RETR", "-ERR Syntax: RETR msg")]
    [InlineData("T", "RETR 1 2", "-ERR Syntax: RETR msg")]
    [InlineData("T", "LIST 1  ", "-ERR Syntax: LIST [msg]")]
    [InlineData("T", "TOP 1", "-ERR Syntax: TOP msg n")]
    [InlineData("T", "TOP 1 -2", "-ERR Syntax: TOP msg n (n a non-negative number of lines)")]
    [InlineData("T", "TOP 7 2", "-ERR No such message")]
    [InlineData("T", "DELE", "-ERR Syntax: DELE msg")]
    [InlineData("T", "STAT 1", "-ERR Syntax: STAT")]
    [InlineData("T", "NOOP x", "-ERR Syntax: NOOP")]
    [InlineData("T", "USER someone", "-ERR Command not valid in this state")]
    [InlineData("T", "STLS", "-ERR Command not valid in this state")]
    [InlineData("T", "AUTH PLAIN", "-ERR Command not valid in this state")]
    public async Task BadInputGetsAClearErrAndTheSessionGoesOn(string state, string command, string reply)
    {
        string user = Pop3ServerFixture.User(12);
        using var pop = await Pop3Dialog.ConnectAsync(Server.Pop3TlsPort, tls: true);
        if (state == "T")
        {
            await WaitForUnlockAsync(user); // rows run one after another, each session ends by dropping its connection
            if (Server.Mailbox(user).Count() < 2)
            {
                await fixture.DeliverAsync(user, Message("bad-a"), Message("bad-b"));
            }

            Assert.StartsWith("+OK", await pop.LoginAsync(user, Pop3ServerFixture.Password), StringComparison.Ordinal);
        }

        Assert.Equal(reply, await pop.CommandAsync(command));
        Assert.Equal("+OK", await pop.CommandAsync(state == "T" ? "NOOP" : "USER " + user));
    }

    [Fact]
    public async Task AnOverLongLineIsDrainedAndRefusedAndTheSessionGoesOn()
    {
        using var pop = await Pop3Dialog.ConnectAsync(Server.Pop3TlsPort, tls: true);
        Assert.Equal("-ERR Line too long", await pop.CommandAsync("USER " + new string('a', 251)));
        Assert.Equal("-ERR Line too long", await pop.CommandAsync("NOOP " + new string('b', 100_000)));
        Assert.Equal("+OK", await pop.CommandAsync("USER " + new string('a', 248)));
        Assert.Equal("-ERR Command not valid in this state", await pop.CommandAsync("DELE 1"));
    }
}
