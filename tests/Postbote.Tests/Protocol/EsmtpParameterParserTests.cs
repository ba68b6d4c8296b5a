using System.Text;
using Postbote.Core;
using Postbote.Protocol.Smtp;

namespace Postbote.Tests.Protocol;

/// <summary>RFC 5321 §4.1.2 Mail-parameters with SIZE (RFC 1870), BODY (RFC 6152, 3030), SMTPUTF8 (RFC 6531),
/// RET/ENVID/NOTIFY/ORCPT (RFC 3461) and AUTH (RFC 4954 §5).</summary>
public class EsmtpParameterParserTests
{
    private static ParameterParseStatus Mail(string s, out MailParameters p, SmtpExtensions e = SmtpExtensions.Default) =>
        EsmtpParameterParser.ParseMail(Encoding.UTF8.GetBytes(s), e, out p);

    [Fact]
    public void AllMailParametersTogether()
    {
        Assert.Equal(ParameterParseStatus.Ok, Mail(" SIZE=38677 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159+2B AUTH=<>", out var p));
        Assert.Equal(38677L, p.Size);
        Assert.Equal(BodyType.EightBitMime, p.Body);
        Assert.True(p.SmtpUtf8);
        Assert.Equal(DsnReturn.Headers, p.Return);
        Assert.Equal("QQ314159+2B", p.EnvelopeId);
        Assert.Equal("<>", p.Auth);
    }

    [Theory]
    [InlineData(" size=100 body=7bit ret=full")]     // keywords and values are case-insensitive (RFC 5321 §2.4)
    [InlineData(" AUTH=alice+40example.org")]        // xtext mailbox
    [InlineData(" BODY=BINARYMIME")]
    [InlineData("")]
    public void AcceptedMailParameters(string input) => Assert.Equal(ParameterParseStatus.Ok, Mail(input, out _));

    [Theory]
    [InlineData(" SIZE=10=20")]        // '=' is not esmtp-value
    [InlineData(" !!!")]               // not an esmtp-keyword
    [InlineData(" SIZE=")]             // empty value
    [InlineData(" SIZE=abc")]
    [InlineData(" SIZE=123456789012345678901")] // more than 20 digits
    [InlineData(" SIZE=1 SIZE=2")]     // duplicate
    [InlineData(" BODY=9BIT")]
    [InlineData(" SMTPUTF8=yes")]
    [InlineData(" RET=ALL")]
    [InlineData(" ENVID=a=b")]
    [InlineData(" AUTH=a+zz")]         // xtext hexchar must be upper-case hex
    [InlineData(">>>")]                // trailing garbage after the path
    [InlineData(" -KEY=1")]
    public void MalformedMailParametersAre501(string input)
    {
        Assert.Equal(ParameterParseStatus.Malformed, Mail(input, out _));
    }

    [Theory]
    [InlineData(" XFOO=bar")]
    [InlineData(" DELIVERBY=100")]
    public void UnknownMailParametersAre555(string input) => Assert.Equal(ParameterParseStatus.Unknown, Mail(input, out var p));

    [Fact]
    public void ParametersOfDisabledExtensionsAreUnknown()
    {
        Assert.Equal(ParameterParseStatus.Unknown, Mail(" SIZE=1", out _, SmtpExtensions.None));
        Assert.Equal(ParameterParseStatus.Unknown, Mail(" SMTPUTF8", out _, SmtpExtensions.Default & ~SmtpExtensions.SmtpUtf8));
        Assert.Equal(ParameterParseStatus.Malformed, Mail(" BODY=BINARYMIME", out _, SmtpExtensions.Default & ~SmtpExtensions.BinaryMime));
    }

    [Theory]
    [InlineData(" NOTIFY=NEVER", DsnNotify.Never, null)]
    [InlineData(" NOTIFY=SUCCESS,FAILURE,DELAY", DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay, null)]
    [InlineData(" notify=failure ORCPT=rfc822;alice+40example.com", DsnNotify.Failure, "rfc822;alice+40example.com")]
    [InlineData("", DsnNotify.Default, null)]
    public void RcptDsnParameters(string input, DsnNotify notify, string? orcpt)
    {
        Assert.Equal(ParameterParseStatus.Ok, EsmtpParameterParser.ParseRcpt(Encoding.ASCII.GetBytes(input), SmtpExtensions.Default, out var p));
        Assert.Equal(notify, p.Notify);
        Assert.Equal(orcpt, p.OriginalRecipient);
    }

    [Theory]
    [InlineData(" NOTIFY=NEVER,SUCCESS")]   // NEVER is exclusive (RFC 3461 §4.1)
    [InlineData(" NOTIFY=SUCCESS,SUCCESS")]
    [InlineData(" NOTIFY=SOMETIMES")]
    [InlineData(" ORCPT=rfc822")]           // no ';'
    [InlineData(" ORCPT=;a@b")]
    [InlineData(" ORCPT=rfc822;")]
    public void MalformedRcptParameters(string input) =>
        Assert.Equal(ParameterParseStatus.Malformed, EsmtpParameterParser.ParseRcpt(Encoding.ASCII.GetBytes(input), SmtpExtensions.Default, out _));
}
