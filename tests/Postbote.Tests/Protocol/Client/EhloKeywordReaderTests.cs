using Postbote.Core;
using Postbote.Protocol.Smtp;
using Postbote.Protocol.Smtp.Client;

namespace Postbote.Tests.Protocol.Client;

/// <summary>RFC 5321 §4.1.1.1 EHLO reply lines, RFC 1869 service extensions, RFC 2033 §4.1 LHLO; the keywords of
/// RFC 1870, 2920, 6152, 6531, 3461, 2034, 3030, 3207, 4954.</summary>
public class EhloKeywordReaderTests
{
    private static EhloCapabilities Read(string wire)
    {
        var r = SmtpReplyParserTests.Parse(wire);
        Assert.Equal(System.Buffers.OperationStatus.Done, r.Status);
        return EhloKeywordReader.Read(r.Reply!);
    }

    [Fact]
    public void PostfixReply()
    {
        var c = Read("250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n" +
                     "250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n" +
                     "250-SMTPUTF8\r\n250 CHUNKING\r\n");
        Assert.Equal("mx.example.org", c.Domain);
        Assert.Equal(SmtpExtensions.Pipelining | SmtpExtensions.Size | SmtpExtensions.StartTls | SmtpExtensions.Auth
                     | SmtpExtensions.EnhancedStatusCodes | SmtpExtensions.EightBitMime | SmtpExtensions.Dsn
                     | SmtpExtensions.SmtpUtf8 | SmtpExtensions.Chunking, c.Extensions);
        Assert.Equal(10_240_000L, c.SizeLimit);
        Assert.Equal(["PLAIN", "LOGIN"], c.AuthMechanisms);
        Assert.Equal(["PIPELINING", "SIZE", "VRFY", "ETRN", "STARTTLS", "AUTH", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"], c.Keywords);
        Assert.True(c.Offers(SmtpExtensions.Pipelining | SmtpExtensions.Chunking));
        Assert.False(c.Offers(SmtpExtensions.Chunking | SmtpExtensions.BinaryMime));
    }

    [Fact]
    public void PostboteReplyAsItsOwnServerWritesIt()
    {
        // What Postbote's own listener advertises with the default extensions (SmtpExtensions.Default).
        var reply = new SmtpReply(SmtpReplyCode.Ok, null,
            ["mx.postbote.test", "PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "BINARYMIME", "DSN"]);
        var c = EhloKeywordReader.Read(reply);
        Assert.Equal(SmtpExtensions.Default, c.Extensions);
    }

    // RFC 5321 §2.4: extension name keywords are not case sensitive; the old AUTH= form (before RFC 2554) counts too.
    [Fact]
    public void KeywordsAreCaseInsensitiveAndOldAuthFormIsRead()
    {
        var c = Read("250-Mail.Example.ORG Hello [127.0.0.1]\r\n250-size 5000\r\n250-pipelining\r\n250-auth=cram-md5 plain\r\n250 Auth Plain xoauth2\r\n");
        Assert.Equal("Mail.Example.ORG", c.Domain);
        Assert.Equal(SmtpExtensions.Size | SmtpExtensions.Pipelining | SmtpExtensions.Auth, c.Extensions);
        Assert.Equal(5000L, c.SizeLimit);
        Assert.Equal(["CRAM-MD5", "PLAIN", "XOAUTH2"], c.AuthMechanisms);
        Assert.True(c.OffersAuth("plain"));
        Assert.False(c.OffersAuth("LOGIN"));
    }

    // RFC 1870 §4: "SIZE" [SP number]; 0 means no fixed maximum.
    [Theory]
    [InlineData("SIZE", null)]
    [InlineData("SIZE 0", null)]
    [InlineData("SIZE 1", 1L)]
    [InlineData("SIZE 52428800", 52_428_800L)]
    [InlineData("SIZE abc", null)]
    [InlineData("SIZE -5", null)]
    [InlineData("SIZE 99999999999999999999999", null)]
    public void SizeParameter(string line, long? limit)
    {
        var c = Read($"250-mx.example.org\r\n250 {line}\r\n");
        Assert.Equal(SmtpExtensions.Size, c.Extensions);
        Assert.Equal(limit, c.SizeLimit);
    }

    // ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); a line that is none is skipped, the others still count.
    [Fact]
    public void LinesThatAreNoEhloLineAreSkipped()
    {
        var c = Read("250-mx.example.org\r\n250--PIPELINING\r\n250-STARTTLS_NOW\r\n250-\r\n250-X-EXPS GSSAPI NTLM\r\n250 8BITMIME\r\n");
        Assert.Equal(SmtpExtensions.EightBitMime, c.Extensions);
        Assert.Equal(["X-EXPS", "8BITMIME"], c.Keywords);
    }

    [Fact]
    public void SingleLineReplyOffersNothing()
    {
        var c = Read("250 mx.example.org Hello client.example.net\r\n");
        Assert.Equal("mx.example.org", c.Domain);
        Assert.Equal(SmtpExtensions.None, c.Extensions);
        Assert.Empty(c.Keywords);
    }

    [Fact]
    public void RefusedEhloOffersNothing()
    {
        // A 5xx to EHLO: the client falls back to HELO (RFC 5321 §4.1.4), which offers no extension.
        var c = Read("502-5.5.2 Error: command not recognized\r\n502 5.5.2 PIPELINING\r\n");
        Assert.Equal(SmtpExtensions.None, c.Extensions);
        Assert.Null(c.SizeLimit);
    }

    // RFC 2033 §4.1: the LHLO reply has the EHLO reply's form (Dovecot's LMTP server).
    [Fact]
    public void LhloReply()
    {
        var c = Read("250-mail.example.org\r\n250-8BITMIME\r\n250-CHUNKING\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n");
        Assert.Equal(SmtpExtensions.EightBitMime | SmtpExtensions.Chunking | SmtpExtensions.EnhancedStatusCodes
                     | SmtpExtensions.Pipelining | SmtpExtensions.StartTls | SmtpExtensions.SmtpUtf8, c.Extensions);
    }
}
