using System.Buffers;
using System.Text;
using Postbote.Core;
using Postbote.Protocol.Smtp;
using Postbote.Protocol.Smtp.Client;

namespace Postbote.Tests.Protocol.Client;

/// <summary>RFC 5321 §4.1.1 commands, §4.1.2 paths and parameters; RFC 1870, 6152, 6531, 3461 §4 (xtext, NOTIFY,
/// ORCPT, RET, ENVID), 3030 §2 (BDAT), 2033 §4.1 (LHLO), 3207 (STARTTLS).</summary>
public class SmtpCommandWriterTests
{
    private static string Written(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static readonly Mailbox Alice = new("alice", "example.org");

    // §4.1.1.1, RFC 2033 §4.1, §4.1.1.4–§4.1.1.10, RFC 3207 §4, RFC 3030 §2.
    [Fact]
    public void FixedCommands()
    {
        Assert.Equal("EHLO client.example.net\r\n", Written(o => SmtpCommandWriter.WriteEhlo(o, "client.example.net")));
        Assert.Equal("EHLO [192.0.2.1]\r\n", Written(o => SmtpCommandWriter.WriteEhlo(o, "[192.0.2.1]")));
        Assert.Equal("HELO client.example.net\r\n", Written(o => SmtpCommandWriter.WriteHelo(o, "client.example.net")));
        Assert.Equal("LHLO client.example.net\r\n", Written(o => SmtpCommandWriter.WriteLhlo(o, "client.example.net")));
        Assert.Equal("DATA\r\n", Written(SmtpCommandWriter.WriteData));
        Assert.Equal("RSET\r\n", Written(SmtpCommandWriter.WriteRset));
        Assert.Equal("NOOP\r\n", Written(SmtpCommandWriter.WriteNoop));
        Assert.Equal("QUIT\r\n", Written(SmtpCommandWriter.WriteQuit));
        Assert.Equal("STARTTLS\r\n", Written(SmtpCommandWriter.WriteStartTls));
        Assert.Equal("BDAT 65536\r\n", Written(o => SmtpCommandWriter.WriteBdat(o, 65536, last: false)));
        Assert.Equal("BDAT 1234 LAST\r\n", Written(o => SmtpCommandWriter.WriteBdat(o, 1234, last: true)));
        Assert.Equal("BDAT 0 LAST\r\n", Written(o => SmtpCommandWriter.WriteBdat(o, 0, last: true)));
        Assert.Equal("BDAT 9223372036854775807\r\n", Written(o => SmtpCommandWriter.WriteBdat(o, long.MaxValue, last: false)));
    }

    // §4.1.1.2, §4.1.2 Mail-parameters.
    [Theory]
    [InlineData(null, "MAIL FROM:<>\r\n")]
    [InlineData("alice@example.org", "MAIL FROM:<alice@example.org>\r\n")]
    [InlineData("\"john doe\"@example.org", "MAIL FROM:<\"john doe\"@example.org>\r\n")]
    [InlineData("j\u00f6rg@b\u00fccher.example", "MAIL FROM:<j\u00f6rg@b\u00fccher.example>\r\n")]
    [InlineData("a@[IPv6:2001:db8::1]", "MAIL FROM:<a@[IPv6:2001:db8::1]>\r\n")]
    public void MailPaths(string? sender, string expected)
    {
        Mailbox? from = sender is null ? null : new Mailbox(sender[..sender.LastIndexOf('@')], sender[(sender.LastIndexOf('@') + 1)..]);
        Assert.Equal(expected, Written(o => SmtpCommandWriter.WriteMail(o, from)));
    }

    [Fact]
    public void MailWithEveryParameter()
    {
        var p = new MailCommandParameters
        {
            Size = 38677,
            Body = BodyType.EightBitMime,
            SmtpUtf8 = true,
            Return = DsnReturn.Full,
            EnvelopeId = "QQ314159 a+b=c",
        };
        Assert.Equal("MAIL FROM:<alice@example.org> SIZE=38677 BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=QQ314159+20a+2Bb+3Dc\r\n",
            Written(o => SmtpCommandWriter.WriteMail(o, Alice, p)));
        Assert.Equal("MAIL FROM:<> SIZE=0 BODY=BINARYMIME RET=HDRS\r\n",
            Written(o => SmtpCommandWriter.WriteMail(o, null, new MailCommandParameters { Size = 0, Body = BodyType.BinaryMime, Return = DsnReturn.Headers })));
    }

    // §4.1.1.3, RFC 3461 §4.1 NOTIFY, §4.2 ORCPT=addr-type;xtext.
    [Theory]
    [InlineData(DsnNotify.Default, null, "RCPT TO:<alice@example.org>\r\n")]
    [InlineData(DsnNotify.Never, null, "RCPT TO:<alice@example.org> NOTIFY=NEVER\r\n")]
    [InlineData(DsnNotify.Failure | DsnNotify.Delay, null, "RCPT TO:<alice@example.org> NOTIFY=FAILURE,DELAY\r\n")]
    [InlineData(DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay, null, "RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE,DELAY\r\n")]
    [InlineData(DsnNotify.Success, "b+c=d@example.org", "RCPT TO:<alice@example.org> NOTIFY=SUCCESS ORCPT=rfc822;b+2Bc+3Dd@example.org\r\n")]
    [InlineData(DsnNotify.Default, "Alice Smith <alice@example.org>", "RCPT TO:<alice@example.org> ORCPT=rfc822;Alice+20Smith+20<alice@example.org>\r\n")]
    public void RcptWithDsnParameters(DsnNotify notify, string? orcpt, string expected)
    {
        var p = new RcptCommandParameters { Notify = notify, OriginalRecipient = orcpt };
        Assert.Equal(expected, Written(o => SmtpCommandWriter.WriteRcpt(o, Alice, p)));
    }

    [Fact]
    public void RcptToDomainlessPostmaster() =>
        Assert.Equal("RCPT TO:<Postmaster>\r\n", Written(o => SmtpCommandWriter.WriteRcpt(o, new Mailbox("Postmaster", ""))));

    [Fact]
    public void WrittenMailAndRcptParseBackWithTheServerParsers()
    {
        var p = new MailCommandParameters { Size = 123, Body = BodyType.EightBitMime, SmtpUtf8 = true, Return = DsnReturn.Headers, EnvelopeId = "id+1=2 x" };
        byte[] mail = Encoding.UTF8.GetBytes(Written(o => SmtpCommandWriter.WriteMail(o, new Mailbox("j\u00f6rg", "example.org"), p)));
        Assert.Equal(SmtpVerb.Mail, SmtpCommandParser.ParseVerb(mail.AsSpan(0, mail.Length - 2), out var args));
        int close = args.IndexOf((byte)'>') + 1;
        Assert.Equal("<j\u00f6rg@example.org>", Encoding.UTF8.GetString(args[..close]));
        Assert.Equal(ParameterParseStatus.Ok, EsmtpParameterParser.ParseMail(args[close..], SmtpExtensions.Default, out var parsed));
        Assert.Equal((123L, BodyType.EightBitMime, true, DsnReturn.Headers), (parsed.Size, parsed.Body, parsed.SmtpUtf8, parsed.Return));
        Assert.True(XText.TryDecode(parsed.EnvelopeId!, out var envid));
        Assert.Equal("id+1=2 x", envid);

        var rp = new RcptCommandParameters { Notify = DsnNotify.Failure | DsnNotify.Delay, OriginalRecipient = "b+c@example.org" };
        byte[] rcpt = Encoding.UTF8.GetBytes(Written(o => SmtpCommandWriter.WriteRcpt(o, Alice, rp)));
        Assert.Equal(SmtpVerb.Rcpt, SmtpCommandParser.ParseVerb(rcpt.AsSpan(0, rcpt.Length - 2), out var rargs));
        close = rargs.IndexOf((byte)'>') + 1;
        Assert.Equal(ParameterParseStatus.Ok, EsmtpParameterParser.ParseRcpt(rargs[close..], SmtpExtensions.Default, out var rparsed));
        Assert.Equal(DsnNotify.Failure | DsnNotify.Delay, rparsed.Notify);
        Assert.Equal("rfc822;b+2Bc@example.org", rparsed.OriginalRecipient);
    }

    // RFC 5321 §2.3.8: no CR or LF but as the line end: an argument that holds one is refused and nothing is written.
    [Theory]
    [InlineData("a\r\nRCPT TO:<evil@example.net>", "example.org")]
    [InlineData("a", "example.org>\r\nRSET")]
    [InlineData("a\u0000b", "example.org")]
    [InlineData("a b", "example.org")]
    [InlineData("a>b", "example.org")]
    [InlineData("", "example.org")]
    public void MailboxesThatCouldBreakTheLineAreRefused(string local, string domain)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => SmtpCommandWriter.WriteMail(output, new Mailbox(local, domain)));
        Assert.Throws<ArgumentException>(() => SmtpCommandWriter.WriteRcpt(output, new Mailbox(local, domain)));
        Assert.Equal(0, output.WrittenCount);
    }

    [Theory]
    [InlineData("")]
    [InlineData("client example")]
    [InlineData("client\r\nMAIL FROM:<x@y>")]
    [InlineData("cli\u00e9nt")]
    public void GreetingDomainsThatAreNoDomainAreRefused(string domain)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => SmtpCommandWriter.WriteEhlo(output, domain));
        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void ParameterValuesOutsideTheRfcsAreRefused()
    {
        var output = new ArrayBufferWriter<byte>();
        // RFC 3461 §4.4: ENVID at most 100 characters; §4.2: ORCPT at most 500; §4.1: NEVER stands alone.
        Assert.Equal(100, XText.EncodedLength(new string('e', 97) + "+"));
        SmtpCommandWriter.WriteMail(output, Alice, new MailCommandParameters { EnvelopeId = new string('e', 97) + "+" });
        output.Clear();
        Assert.Throws<ArgumentException>(() => SmtpCommandWriter.WriteMail(output, Alice, new MailCommandParameters { EnvelopeId = new string('e', 98) + "+" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SmtpCommandWriter.WriteMail(output, Alice, new MailCommandParameters { Size = -1 }));
        Assert.Throws<ArgumentException>(() => SmtpCommandWriter.WriteRcpt(output, Alice, new RcptCommandParameters { OriginalRecipient = new string('o', 494) }));
        Assert.Throws<ArgumentException>(() => SmtpCommandWriter.WriteRcpt(output, Alice, new RcptCommandParameters { OriginalRecipient = "a@b", OriginalRecipientType = "rfc 822" }));
        Assert.Throws<ArgumentException>(() => SmtpCommandWriter.WriteRcpt(output, Alice, new RcptCommandParameters { Notify = DsnNotify.Never | DsnNotify.Failure }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SmtpCommandWriter.WriteBdat(output, -1, last: true));
        Assert.Equal(0, output.WrittenCount);
        SmtpCommandWriter.WriteRcpt(output, Alice, new RcptCommandParameters { OriginalRecipient = new string('o', 493) });
        Assert.Equal("RCPT TO:<alice@example.org> ORCPT=rfc822;".Length + 493 + 2, output.WrittenCount);
    }

    // RFC 3461 §4: xtext = *( xchar / hexchar ).
    [Theory]
    [InlineData("", "")]
    [InlineData("plain", "plain")]
    [InlineData("a+b=c", "a+2Bb+3Dc")]
    [InlineData("sp ace", "sp+20ace")]
    [InlineData("\u00fc", "+C3+BC")]
    [InlineData("\t~!", "+09~!")]
    public void XTextEncoding(string text, string xtext)
    {
        Assert.Equal(xtext, XText.Encode(text));
        Assert.Equal(xtext.Length, XText.EncodedLength(text));
        Assert.True(EsmtpParameterParser.IsXText(Encoding.ASCII.GetBytes(xtext)));
        Assert.True(XText.TryDecode(xtext, out var back));
        Assert.Equal(text, back);
    }

    [Theory]
    [InlineData("a+2")]
    [InlineData("a+2b")]   // hexchar digits are upper case
    [InlineData("a=b")]
    [InlineData("a b")]
    public void MalformedXTextIsNotDecoded(string xtext) => Assert.False(XText.TryDecode(xtext, out _));
}
