using System.Buffers;
using System.Text;
using Postbote.Core;
using Postbote.Protocol.Smtp;
using Postbote.Protocol.Smtp.Client;

namespace Postbote.Tests.Protocol.Client;

/// <summary>The client side of the protocol layer against a real server that is not Postbote: aiosmtpd as SMTP
/// (RFC 5321) and LMTP (RFC 2033) server on a loopback port, driven over a plain socket; the peer writes down what it
/// received, and the test compares it octet for octet.</summary>
public class AiosmtpdPeerTests
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes(
        "From: <j\u00f6rg@client.test>\r\nTo: <a@peer.test>\r\nSubject: dots\r\n\r\n.leading dot\r\n.\r\n..\r\n" +
        "Gr\u00fc\u00dfe aus K\u00f6ln\r\n\r\nlast line without its line end");

    private static byte[] Encoded(byte[] body, int chunk)
    {
        var wire = new ArrayBufferWriter<byte>();
        var encoder = new DataEncoder();
        for (int at = 0; at < body.Length; at += chunk)
            encoder.Encode(body.AsSpan(at, Math.Min(chunk, body.Length - at)), wire);
        encoder.Complete(wire);
        return wire.WrittenSpan.ToArray();
    }

    [Fact]
    public async Task SmtpTransactionReachesAiosmtpdOctetForOctet()
    {
        await using var peer = await AiosmtpdPeer.StartAsync("smtp", sizeLimit: 1_048_576);
        await using var c = await PeerConnection.ConnectAsync(peer.Port);

        var greeting = await c.ReadReplyAsync();
        Assert.Equal(SmtpReplyCode.ServiceReady, greeting.Code);
        Assert.StartsWith("peer.test ", greeting.Lines[0]);

        var ehlo = await c.CommandAsync(o => SmtpCommandWriter.WriteEhlo(o, "client.test"));
        Assert.Equal(["peer.test", "SIZE 1048576", "8BITMIME", "SMTPUTF8", "HELP"], ehlo.Lines);
        var offered = EhloKeywordReader.Read(ehlo);
        Assert.Equal(SmtpExtensions.Size | SmtpExtensions.EightBitMime | SmtpExtensions.SmtpUtf8, offered.Extensions);
        Assert.Equal(1_048_576L, offered.SizeLimit);
        Assert.Equal("peer.test", offered.Domain);

        var mail = await c.CommandAsync(o => SmtpCommandWriter.WriteMail(o, new Mailbox("j\u00f6rg", "client.test"),
            new MailCommandParameters { Size = Body.Length, Body = BodyType.EightBitMime, SmtpUtf8 = true }));
        Assert.Equal((SmtpReplyCode.Ok, "OK"), (mail.Code, mail.Lines[0]));
        Assert.True((await c.CommandAsync(o => SmtpCommandWriter.WriteRcpt(o, new Mailbox("a", "peer.test")))).IsPositive);
        // aiosmtpd knows no DSN: its 555 is a real permanent failure, read like any other reply.
        var refused = await c.CommandAsync(o => SmtpCommandWriter.WriteRcpt(o, new Mailbox("b", "peer.test"),
            new RcptCommandParameters { Notify = DsnNotify.Success }));
        Assert.Equal(SmtpReplyCode.ParametersNotRecognized, refused.Code);
        Assert.Equal(["RCPT TO parameters not recognized or not implemented"], refused.Lines);
        Assert.True(refused.IsPermanentFailure);
        Assert.True((await c.CommandAsync(o => SmtpCommandWriter.WriteRcpt(o, new Mailbox("c", "peer.test")))).IsPositive);

        var data = await c.CommandAsync(SmtpCommandWriter.WriteData);
        Assert.Equal(SmtpReplyCode.StartMailInput, data.Code);
        Assert.True(data.IsIntermediate);
        await c.SendAsync(Encoded(Body, chunk: 7));
        var accepted = await c.ReadReplyAsync();
        Assert.Equal((SmtpReplyCode.Ok, new EnhancedStatusCode(2, 0, 0), "Message accepted"), (accepted.Code, accepted.Status, accepted.Lines[0]));

        // The same connection carries the next transaction; the peer's SIZE limit is a 552 at MAIL (RFC 1870 §6.1).
        Assert.True((await c.CommandAsync(SmtpCommandWriter.WriteRset)).IsPositive);
        var tooBig = await c.CommandAsync(o => SmtpCommandWriter.WriteMail(o, null, new MailCommandParameters { Size = 2_000_000 }));
        Assert.Equal(SmtpReplyCode.ExceededStorage, tooBig.Code);
        Assert.Equal(["Error: message size exceeds fixed maximum message size"], tooBig.Lines);
        var bye = await c.CommandAsync(SmtpCommandWriter.WriteQuit);
        Assert.Equal((SmtpReplyCode.ServiceClosing, "Bye"), (bye.Code, bye.Lines[0]));

        var received = Assert.Single(await peer.ReceivedAsync(1));
        Assert.Equal("client.test", received.GetProperty("helo").GetString());
        Assert.Equal("j\u00f6rg@client.test", received.GetProperty("mail_from").GetString());
        Assert.Equal([$"SIZE={Body.Length}", "BODY=8BITMIME", "SMTPUTF8"], received.GetProperty("mail_options").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["a@peer.test", "c@peer.test"], received.GetProperty("rcpt_tos").EnumerateArray().Select(e => e.GetString()));
        // The message as sent, with the line end the encoder added to its last line, and no period left over.
        Assert.Equal([.. Body, .. "\r\n"u8], Convert.FromBase64String(received.GetProperty("content").GetString()!));
    }

    [Fact]
    public async Task LmtpGivesOneReplyPerRecipientAfterData()
    {
        await using var peer = await AiosmtpdPeer.StartAsync("lmtp", sizeLimit: 1_048_576);
        await using var c = await PeerConnection.ConnectAsync(peer.Port);

        Assert.Equal(SmtpReplyCode.ServiceReady, (await c.ReadReplyAsync()).Code);
        var lhlo = await c.CommandAsync(o => SmtpCommandWriter.WriteLhlo(o, "client.test"));
        Assert.Equal(SmtpExtensions.Size | SmtpExtensions.EightBitMime | SmtpExtensions.SmtpUtf8, EhloKeywordReader.Read(lhlo).Extensions);
        Assert.True((await c.CommandAsync(o => SmtpCommandWriter.WriteMail(o, new Mailbox("sender", "client.test")))).IsPositive);
        Assert.True((await c.CommandAsync(o => SmtpCommandWriter.WriteRcpt(o, new Mailbox("a", "peer.test")))).IsPositive);
        Assert.True((await c.CommandAsync(o => SmtpCommandWriter.WriteRcpt(o, new Mailbox("nobody", "peer.test")))).IsPositive);
        Assert.Equal(SmtpReplyCode.StartMailInput, (await c.CommandAsync(SmtpCommandWriter.WriteData)).Code);
        await c.SendAsync(Encoded(Body, chunk: 64));

        // RFC 2033 §4.2: after the final ".", one reply for each recipient that was accepted, in RCPT order.
        var first = await c.ReadReplyAsync();
        var second = await c.ReadReplyAsync();
        Assert.Equal((SmtpReplyCode.Ok, new EnhancedStatusCode(2, 1, 5), "<a@peer.test> delivered"), (first.Code, first.Status, first.Lines[0]));
        Assert.Equal((SmtpReplyCode.MailboxUnavailable, new EnhancedStatusCode(5, 1, 1), "<nobody@peer.test> no such user"), (second.Code, second.Status, second.Lines[0]));
        Assert.Equal(SmtpReplyCode.ServiceClosing, (await c.CommandAsync(SmtpCommandWriter.WriteQuit)).Code);

        var received = Assert.Single(await peer.ReceivedAsync(1));
        Assert.Equal([.. Body, .. "\r\n"u8], Convert.FromBase64String(received.GetProperty("content").GetString()!));
    }
}
