using Postbote.Core;
using Postbote.Delivery.Dsn;
using Postbote.Queue;

namespace Postbote.Tests.Delivery.Dsn;

/// <summary>The field values of RFC 3464 §2.2 and §2.3, table by table.</summary>
public sealed class DsnFieldsTests
{
    [Theory]
    [InlineData("mx1.example.net[192.0.2.1]:25", "dns; mx1.example.net")]
    [InlineData("[192.0.2.1]:2525", "dns; [192.0.2.1]")]
    [InlineData("[IPv6:2001:db8::1]:25", "dns; [IPv6:2001:db8::1]")]
    [InlineData("relay.example.net:587", "dns; relay.example.net")]
    [InlineData("lmtp.example.net", "dns; lmtp.example.net")]
    [InlineData("/run/dovecot/lmtp", null)]
    [InlineData("bad host\r\nX-Injected: 1", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void RemoteMtaIsTheDnsNameOfTheRemoteHost(string? remoteHost, string? expected) =>
        Assert.Equal(expected, DsnFields.RemoteMta(remoteHost));

    [Theory]
    [InlineData("QQ+2B314159", "QQ+314159")]            // RFC 3461 §4.4: decoded from xtext
    [InlineData("plain-id.42", "plain-id.42")]
    [InlineData("a+20b", "a b")]                        // white space is printable (RFC 3461 §4.4)
    [InlineData("x+0D+0AInjected:+201", "x+0D+0AInjected:+201")]   // controls never reach the report: kept as xtext
    [InlineData("caf+C3+A9", "caf+C3+A9")]             // not US-ASCII: kept as xtext
    [InlineData("bad+zz", "bad+zz")]                    // not xtext: kept as received
    public void EnvelopeIdIsDecodedWhenItIsPrintableAscii(string envid, string expected) =>
        Assert.Equal(expected, DsnFields.EnvelopeId(envid));

    [Theory]
    [InlineData("rfc822;bob+2Bx@example.net", "rfc822; bob+x@example.net")]
    [InlineData("RFC822;Bob@Example.NET", "RFC822; Bob@Example.NET")]
    [InlineData("utf-8;j+C3+B6rg@example.de", "utf-8; j+C3+B6rg@example.de")]
    [InlineData("rfc822;a+0D+0Ab@example.net", "rfc822; a+0D+0Ab@example.net")]
    [InlineData(null, null)]
    public void OriginalRecipientIsTheOrcptWithItsAddressDecoded(string? orcpt, string? expected) =>
        Assert.Equal(expected, DsnFields.OriginalRecipient(orcpt));

    [Fact]
    public void FinalRecipientOfANonAsciiAddressUsesTheUtf8AddressType() =>
        // RFC 6533 §3: utf-8-addr-xtext, each non-ASCII character as \x{HEX}.
        Assert.Equal("utf-8; j\\x{F6}rg@b\\x{FC}ro.example", DsnFields.FinalRecipient(new Mailbox("jörg", "büro.example")));

    [Fact]
    public void FinalRecipientOfAnAsciiAddressIsRfc822() =>
        Assert.Equal("rfc822; \"john doe\"@example.net", DsnFields.FinalRecipient(new Mailbox("\"john doe\"", "example.net")));

    [Theory]
    [InlineData(DsnAction.Failed, "550 5.1.1 no such user", "5.1.1")]
    [InlineData(DsnAction.Failed, "450 4.2.1 try later", "4.2.1")]
    [InlineData(DsnAction.Failed, "450 try later", "4.4.7")]
    [InlineData(DsnAction.Failed, null, "5.0.0")]
    [InlineData(DsnAction.Delayed, "451 4.3.0 relaying not available yet", "4.3.0")]
    [InlineData(DsnAction.Delayed, "421 closing", "4.0.0")]
    [InlineData(DsnAction.Delayed, null, "4.0.0")]
    [InlineData(DsnAction.Delivered, "250 2.0.0 ok", "2.0.0")]
    [InlineData(DsnAction.Relayed, "250 2.6.0 queued", "2.6.0")]
    [InlineData(DsnAction.Relayed, "250 Ok: queued as 1234", "2.0.0")]
    [InlineData(DsnAction.Failed, "550 5.1234.1 odd", "5.0.0")]
    public void StatusComesFromTheReplyWhenItsClassFitsTheAction(DsnAction action, string? reply, string expected) =>
        Assert.Equal(expected, DsnFields.Status(action, reply).ToString());
}
