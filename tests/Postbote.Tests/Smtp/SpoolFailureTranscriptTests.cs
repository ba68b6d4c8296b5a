namespace Postbote.Tests.Smtp;

/// <summary>
/// What the client hears when the spool cannot take a message (RFC 5321 §4.2.3, RFC 3463 §3.4 X.3.1 "Mail system
/// full"), and sequence rules around BINARYMIME (RFC 3030 §3). The full disk is real: the sink writes to /dev/full.
/// </summary>
public class SpoolFailureTranscriptTests
{
    private const string Envelope = "EHLO client.example.org\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<rcpt@example.com>\r\n";

    [Fact]
    public async Task FullDiskAtDataIs452_4_3_1_AndDoesNotCountTowardsMaxErrors()
    {
        var sink = new FullDiskSink(failAtBegin: true);
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxErrors = 3, _ => sink);
        using var c = await server.ConnectAsync();
        await c.ExchangeAsync(Envelope, 3);
        // More failures than max_errors: the server's own fault never cuts the client off.
        for (int i = 0; i < 5; i++)
            Assert.Equal("452 4.3.1 Error: insufficient system storage\r\n", await c.ExchangeAsync("DATA\r\n"));
        Assert.Equal("250 2.0.0 Ok\r\n", await c.ExchangeAsync("NOOP\r\n"));
        Assert.Equal(5, sink.Begun);
    }

    [Fact]
    public async Task FullDiskDuringDataIs451_4_3_1_AfterTheDot()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxErrors = 3, _ => new FullDiskSink(failAtBegin: false));
        using var c = await server.ConnectAsync();
        await c.ExchangeAsync(Envelope, 3);
        for (int i = 0; i < 4; i++)
        {
            if (i > 0) await c.ExchangeAsync("MAIL FROM:<alice@example.org>\r\nRCPT TO:<rcpt@example.com>\r\n", 2);
            Assert.Equal("354 End data with <CR><LF>.<CR><LF>\r\n", await c.ExchangeAsync("DATA\r\n"));
            Assert.Equal("451 4.3.1 Error: mail system full, message not queued\r\n", await c.ExchangeAsync("Subject: x\r\n\r\nbody\r\n.\r\n"));
        }
        Assert.Equal("250 2.0.0 Ok\r\n", await c.ExchangeAsync("NOOP\r\n"));
    }

    [Fact]
    public async Task FullDiskAtBdatIsOneReply452_4_3_1()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxErrors = 3, _ => new FullDiskSink(failAtBegin: true));
        using var c = await server.ConnectAsync();
        await c.ExchangeAsync(Envelope, 3);
        // Exactly one reply per BDAT command (RFC 3030 §2), then the session goes on.
        Assert.Equal("452 4.3.1 Error: insufficient system storage\r\n250 2.0.0 Ok\r\n", await c.ExchangeAsync("BDAT 5 LAST\r\nhelloNOOP\r\n", 2));
        Assert.Equal("250 2.0.0 Ok\r\n", await c.ExchangeAsync("NOOP\r\n"));
    }

    [Fact]
    public async Task DataAfterBodyBinaryMimeIs503_Rfc3030_3()
    {
        await using var server = await SmtpTestServer.StartAsync();
        using var c = await server.ConnectAsync();
        await c.ExchangeAsync("EHLO client.example.org\r\n");
        Assert.Equal("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n",
            await c.ExchangeAsync("MAIL FROM:<alice@example.org> BODY=BINARYMIME\r\nRCPT TO:<rcpt@example.com>\r\n", 2));
        Assert.Equal("503 5.5.1 Error: BODY=BINARYMIME needs BDAT, not DATA\r\n", await c.ExchangeAsync("DATA\r\n"));
        // The transaction stands: BDAT still takes the message.
        Assert.Matches("^250 2.0.0 Ok: queued as [0-9A-Z]{16}\r\n$", await c.ExchangeAsync("BDAT 4 LAST\r\nab\0\n"));
    }
}
