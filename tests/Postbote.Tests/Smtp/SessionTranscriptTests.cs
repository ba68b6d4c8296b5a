using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Smtp;

/// <summary>
/// The session's replies over real TCP, grouped by RFC section: every reply carries its code and enhanced status code
/// (RFC 3463, RFC 2034), sequence errors are 503 5.5.1, unknown commands 500 5.5.2.
/// </summary>
public class SessionTranscriptTests : IAsyncLifetime
{
    private SmtpTestServer _server = null!;

    public async Task InitializeAsync() => _server = await SmtpTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>The UTF-8 octets of <paramref name="s"/>, one char per octet, for the Latin-1 test client.</summary>
    private static string U(string s) => System.Text.Encoding.Latin1.GetString(System.Text.Encoding.UTF8.GetBytes(s));

    private async Task Transcript(params (string Send, string Expect)[] steps)
    {
        using var c = await _server.ConnectAsync();
        Assert.Equal("220 mx.example.com ESMTP\r\n", c.Greeting.Text);
        foreach (var (send, expect) in steps)
        {
            string got = await c.ExchangeAsync(send);
            Assert.True(got.StartsWith(expect, StringComparison.Ordinal), $"C: {send.TrimEnd()}\nexpected: {expect}\ngot: {got}");
        }
    }

    [Fact]
    public async Task Ehlo_AdvertisesExactlyTheEnabledExtensions_Rfc5321_4_1_1_1()
    {
        using var c = await _server.ConnectAsync();
        string reply = await c.ExchangeAsync("EHLO client.example.org\r\n");
        Assert.Equal("250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-VRFY\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
            + "250-SMTPUTF8\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250 DSN\r\n", reply);
    }

    public static TheoryData<string, string> Commands => new()
    {
        // §4.1.1.1 HELO/EHLO
        { "HELO client.example.org\r\n", "250 mx.example.com\r\n" },
        { "EHLO\r\n", "501 5.5.4 " },
        { "HELO\r\n", "501 5.5.4 " },
        // §4.1.1.5 - §4.1.1.10
        { "RSET\r\n", "250 2.0.0 Ok\r\n" },
        { "RSET x\r\n", "501 5.5.4 " },
        { "NOOP\r\n", "250 2.0.0 Ok\r\n" },
        { "NOOP ignored argument\r\n", "250 2.0.0 Ok\r\n" },
        { "VRFY alice\r\n", "252 2.0.0 " },
        { "EXPN staff\r\n", "502 5.5.1 " },
        { "HELP\r\n", "214 2.0.0 " },
        { "QUIT\r\n", "221 2.0.0 Bye\r\n" },
        // Unknown and not-enabled commands
        { "XYZZY\r\n", "500 5.5.2 Error: command not recognized\r\n" },
        { "STARTTLS\r\n", "502 5.5.1 " },
        { "AUTH PLAIN\r\n", "503 5.5.1 Error: authentication not enabled\r\n" },
        { "NOOP \0\r\n", "500 5.5.2 Error: invalid characters in command\r\n" },
        // §4.1.4 sequence
        { "MAIL FROM:<a@example.org>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n" },
        { "RCPT TO:<rcpt@example.com>\r\n", "503 5.5.1 Error: need MAIL command\r\n" },
        { "DATA\r\n", "503 5.5.1 Error: need MAIL command\r\n" },
        // §4.5.3.1.4 command line length
        { "NOOP " + new string('a', 600) + "\r\n", "500 5.5.2 Error: line too long\r\n" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public Task SingleCommandReplies(string send, string expect) => Transcript((send, expect));

    public static TheoryData<string, string> MailCommands => new()
    {
        { "MAIL FROM:<alice@example.org>\r\n", "250 2.1.0 Ok\r\n" },
        { "MAIL FROM: <alice@example.org>\r\n", "250 2.1.0 Ok\r\n" },
        { "mail from:<alice@example.org>\r\n", "250 2.1.0 Ok\r\n" },
        { "MAIL FROM:<>\r\n", "250 2.1.0 Ok\r\n" },
        { "MAIL FROM:<@relay.example:alice@example.org>\r\n", "250 2.1.0 Ok\r\n" },
        { "MAIL FROM:<alice@[192.0.2.25]>\r\n", "250 2.1.0 Ok\r\n" },
        { "MAIL FROM:<alice@example.org> SIZE=100000 BODY=8BITMIME RET=HDRS ENVID=x1\r\n", "250 2.1.0 Ok\r\n" },
        { U("MAIL FROM:<jürgen@example.org> SMTPUTF8\r\n"), "250 2.1.0 Ok\r\n" },
        { U("MAIL FROM:<jürgen@example.org>\r\n"), "553 5.6.7 " },
        { "MAIL FROM:<j\u00fcrgen@example.org> SMTPUTF8\r\n", "501 5.1.7 " }, // Latin-1, not UTF-8
        { "MAIL FROM:<alice@example.org> SIZE=100001\r\n", "552 5.3.4 " },
        { "MAIL FROM:<>>>>>\r\n", "501 5.5.4 " },
        { "MAIL FROM:<alice@example.org>>>\r\n", "501 5.5.4 " },
        { "MAIL FROM:<alice@example.org> SIZE=10=20\r\n", "501 5.5.4 " },
        { "MAIL FROM:<alice@example.org> XFOO=1\r\n", "555 5.5.4 " },
        { "MAIL FROM:alice@example.org\r\n", "501 5.1.7 " },
        { "MAIL FROM:<alice@example..org>\r\n", "501 5.1.7 " },
        { "MAIL <alice@example.org>\r\n", "501 5.5.4 " },
        // §4.1.2: an A-d-l ends with ':'; a route without it is a syntax error.
        { "MAIL FROM:<@relay1.example.net alice@example.org>\r\n", "501 5.1.7 Error: bad source route in sender address\r\n" },
        { "MAIL FROM:<@a.example,alice@example.org>\r\n", "501 5.1.7 Error: bad source route in sender address\r\n" },
    };

    [Theory]
    [MemberData(nameof(MailCommands))]
    public Task MailReplies_Rfc5321_4_1_1_2(string send, string expect) =>
        Transcript(("EHLO client.example.org\r\n", "250-"), (send, expect));

    public static TheoryData<string, string> RcptCommands => new()
    {
        { "RCPT TO:<rcpt@example.com>\r\n", "250 2.1.5 Ok\r\n" },
        { "RCPT TO:<RCPT@EXAMPLE.COM>\r\n", "250 2.1.5 Ok\r\n" },
        { "RCPT TO:<Postmaster>\r\n", "250 2.1.5 Ok\r\n" },
        { "RCPT TO:<rcpt@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;rcpt@example.com\r\n", "250 2.1.5 Ok\r\n" },
        { "RCPT TO:<nosuchuser@example.com>\r\n", "550 5.1.1 <nosuchuser@example.com>: Recipient address rejected" },
        { "RCPT TO:<user@example.net>\r\n", "554 5.7.1 <user@example.net>: Relay access denied\r\n" },
        { "RCPT TO:<user@[192.0.2.1]>\r\n", "554 5.7.1 " },
        { "RCPT TO:<>\r\n", "501 5.1.3 " },
        { "RCPT TO:<rcpt@example.com> NOTIFY=NEVER,DELAY\r\n", "501 5.5.4 " },
        { "RCPT TO:<rcpt@example.com> FOO=BAR\r\n", "555 5.5.4 " },
        { U("RCPT TO:<jürgen@example.com>\r\n"), "553 5.6.7 " },
        // §4.1.2: a malformed source route is a syntax error, not a relay attempt (554 5.7.1).
        { "RCPT TO:<@relay1.example.net rcpt@example.com>\r\n", "501 5.1.3 Error: bad source route in recipient address\r\n" },
        { "RCPT TO:<@a.example,rcpt@example.com>\r\n", "501 5.1.3 Error: bad source route in recipient address\r\n" },
        { "RCPT TO:<@a.example:rcpt@example.com>\r\n", "250 2.1.5 Ok\r\n" },
    };

    [Theory]
    [MemberData(nameof(RcptCommands))]
    public Task RcptReplies_Rfc5321_4_1_1_3(string send, string expect) =>
        Transcript(("EHLO client.example.org\r\n", "250-"), ("MAIL FROM:<alice@example.org>\r\n", "250 2.1.0"), (send, expect));

    [Fact]
    public Task NestedMailIsRefused_Rfc5321_4_1_4() => Transcript(
        ("EHLO client.example.org\r\n", "250-"),
        ("MAIL FROM:<alice@example.org>\r\n", "250 2.1.0"),
        ("MAIL FROM:<bob@example.org>\r\n", "503 5.5.1 Error: nested MAIL command\r\n"));

    [Fact]
    public Task DataWithoutValidRecipientsIs554() => Transcript(
        ("EHLO client.example.org\r\n", "250-"),
        ("MAIL FROM:<alice@example.org>\r\n", "250 2.1.0"),
        ("RCPT TO:<nosuchuser@example.com>\r\n", "550 5.1.1"),
        ("DATA\r\n", "554 5.5.1 Error: no valid recipients\r\n"));

    [Fact]
    public Task EhloResetsTheTransaction_Rfc5321_4_1_4() => Transcript(
        ("EHLO client.example.org\r\n", "250-"),
        ("MAIL FROM:<alice@example.org>\r\n", "250 2.1.0"),
        ("EHLO client.example.org\r\n", "250-"),
        ("RCPT TO:<rcpt@example.com>\r\n", "503 5.5.1"));

    [Fact]
    public Task HeloDisablesEsmtpParameters() => Transcript(
        ("HELO client.example.org\r\n", "250 mx.example.com"),
        ("MAIL FROM:<alice@example.org> SIZE=10\r\n", "555 5.5.4 "));

    [Fact]
    public async Task DataIsQueuedAndTheReplyNamesTheQueueId()
    {
        using var c = await _server.ConnectAsync();
        await c.ExchangeAsync("EHLO client.example.org\r\n");
        // One pipelined group (RFC 2920): replies in order.
        string replies = await c.ExchangeAsync("MAIL FROM:<alice@example.org>\r\nRCPT TO:<rcpt@example.com>\r\nRCPT TO:<x@example.net>\r\nDATA\r\n", 4);
        Assert.Matches("^250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n554 5.7.1 [^\n]*\n354 End data with <CR><LF>.<CR><LF>\r\n$", replies);
        string done = await c.ExchangeAsync("Subject: t\r\n\r\n..hello\r\n.\r\n");
        var m = System.Text.RegularExpressions.Regex.Match(done, "^250 2.0.0 Ok: queued as ([0-9A-Z]{16})\r\n$");
        Assert.True(m.Success, done);
        var entry = _server.Spool.Read(new QueueId(m.Groups[1].Value));
        Assert.NotNull(entry);
        string body = System.Text.Encoding.Latin1.GetString(Spool.ReadBody(entry!));
        Assert.StartsWith("Received: from client.example.org ([127.0.0.1])\r\n\tby mx.example.com with ESMTP id " + m.Groups[1].Value + "\r\n\tfor <rcpt@example.com>;\r\n\t", body);
        Assert.EndsWith(" +0000\r\nSubject: t\r\n\r\n.hello\r\n", body);
    }

    [Fact]
    public async Task OversizedMessageIsDrainedAndRefusedAndTheSessionGoesOn()
    {
        using var c = await _server.ConnectInDataAsync();
        string big = string.Concat(Enumerable.Repeat(new string('A', 78) + "\r\n", 2000)); // 160,000 bytes > 100,000
        Assert.Equal("552 5.3.4 Error: message file too big\r\n", await c.ExchangeAsync(big + ".\r\n"));
        Assert.Equal("250 2.1.0 Ok\r\n", await c.ExchangeAsync("MAIL FROM:<alice@example.org>\r\n"));
        Assert.Empty(_server.Spool.List());
    }

    [Fact]
    public async Task BareLineFeedRefusesTheMessage()
    {
        using var c = await _server.ConnectInDataAsync();
        string reply = await c.ExchangeAsync("Subject: x\r\n\r\nline\n.\nMAIL FROM:<spoofed@example.net>\r\n.\r\n");
        Assert.StartsWith("554 5.6.0 ", reply);
        Assert.Empty(_server.Spool.List());
    }

    [Fact]
    public async Task BdatChunksAreQueued_Rfc3030()
    {
        using var c = await _server.ConnectAsync();
        await c.ExchangeAsync("EHLO client.example.org\r\n");
        await c.ExchangeAsync("MAIL FROM:<alice@example.org> BODY=BINARYMIME\r\nRCPT TO:<rcpt@example.com>\r\n", 2);
        Assert.Equal("250 2.0.0 10 octets received\r\n", (await c.BdatAsync("Subject: a"u8.ToArray())).Text);
        string last = (await c.BdatAsync("\r\n\r\nbin\0\n"u8.ToArray(), last: true)).Text;
        Assert.Matches("^250 2.0.0 Ok: queued as [0-9A-Z]{16}\r\n$", last);
        var entry = Assert.Single(_server.Spool.List());
        string body = System.Text.Encoding.Latin1.GetString(Spool.ReadBody(_server.Spool.Read(entry.Id)!));
        Assert.EndsWith("\r\nSubject: a\r\n\r\nbin\0\n", body);
    }

    [Fact]
    public async Task TooManyErrorsCloseWith421()
    {
        using var c = await _server.ConnectAsync();
        string all = "";
        for (int i = 0; i < 19; i++) all += await c.ExchangeAsync("XYZZY\r\n");
        Assert.Equal(19, all.Split("500 5.5.2").Length - 1);
        string last = await c.ExchangeAsync("XYZZY\r\n", 2);
        Assert.Equal("500 5.5.2 Error: command not recognized\r\n421 4.7.0 mx.example.com Error: too many errors\r\n", last);
        Assert.Equal("<closed>", await c.ReadRepliesAsync(1));
    }

    [Fact]
    public async Task TooManyRecipientsIs452_Rfc5321_4_5_3_1_10()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.RecipientsPerMessage = 2);
        using var c = await server.ConnectAsync();
        await c.ExchangeAsync("EHLO client.example.org\r\n");
        string r = await c.ExchangeAsync("MAIL FROM:<a@example.org>\r\nRCPT TO:<rcpt@example.com>\r\nRCPT TO:<alice@example.com>\r\nRCPT TO:<postmaster@example.com>\r\n", 4);
        Assert.EndsWith("250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients\r\n", r);
    }

    [Fact]
    public async Task IdleTimeoutGets421AndClose_Rfc5321_4_5_3_2_7()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.IdleTimeout = TimeSpan.FromSeconds(1));
        using var c = await server.ConnectAsync();
        string r = await c.ReadRepliesAsync(1);
        Assert.Equal("421 4.4.2 Error: timeout exceeded, closing transmission channel\r\n", r);
        Assert.Equal("<closed>", await c.ReadRepliesAsync(1));
    }

    [Theory]
    [InlineData(false)] // still waiting for the first byte: no pipes made yet
    [InlineData(true)]  // after EHLO
    public async Task StoppingServerSends421ToIdleSessions_Rfc5321_3_8(bool spoke)
    {
        await using var server = await SmtpTestServer.StartAsync();
        using var c = await server.ConnectAsync();
        if (spoke) Assert.StartsWith("250-mx.example.com", await c.ExchangeAsync("EHLO client.example.org\r\n"));
        Task stop = server.Server.StopAsync(CancellationToken.None);
        Assert.Equal("421 4.3.2 mx.example.com Service shutting down, closing transmission channel\r\n", await c.ReadRepliesAsync(1));
        Assert.Equal("<closed>", await c.ReadRepliesAsync(1));
        await stop.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
