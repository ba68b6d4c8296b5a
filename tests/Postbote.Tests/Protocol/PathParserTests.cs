using System.Text;
using Postbote.Protocol.Smtp;

namespace Postbote.Tests.Protocol;

/// <summary>RFC 5321 §4.1.2 path grammar, §4.1.3 address literals, RFC 6531 §3.3 UTF-8 forms.</summary>
public class PathParserTests
{
    [Theory]
    // Dot-string local parts and domains (§4.1.2).
    [InlineData("<alice@example.com>", "alice", "example.com", 19)]
    [InlineData("<first.last@sub.example.com>", "first.last", "sub.example.com", 28)]
    [InlineData("<a+tag@example.com>", "a+tag", "example.com", 19)]
    [InlineData("<!#$%&'*+-/=?^_`{|}~@example.com>", "!#$%&'*+-/=?^_`{|}~", "example.com", 33)]
    [InlineData("<x@a-b.example>", "x", "a-b.example", 15)]
    // Quoted-string local parts with quoted pairs.
    [InlineData("<\"john doe\"@example.com>", "\"john doe\"", "example.com", 24)]
    [InlineData("<\"a\\\"b\"@example.com>", "\"a\\\"b\"", "example.com", 20)]
    [InlineData("<\"user@foreign\"@example.com>", "\"user@foreign\"", "example.com", 28)]
    // Address literals (§4.1.3).
    [InlineData("<alice@[192.0.2.25]>", "alice", "[192.0.2.25]", 20)]
    [InlineData("<alice@[IPv6:2001:db8::25]>", "alice", "[IPv6:2001:db8::25]", 27)]
    [InlineData("<alice@[IPV6:2001:db8:0:0:0:0:0:1]>", "alice", "[IPV6:2001:db8:0:0:0:0:0:1]", 35)]
    [InlineData("<alice@[IPv6:::ffff:192.0.2.1]>", "alice", "[IPv6:::ffff:192.0.2.1]", 31)]
    // A trailing dot names the same domain; it is dropped.
    [InlineData("<alice@example.com.>", "alice", "example.com", 20)]
    // Source routes are accepted and ignored (§4.1.1.3, Appendix C).
    [InlineData("<@relay.example:alice@example.com>", "alice", "example.com", 34)]
    [InlineData("<@a.example,@b.example:alice@example.com>", "alice", "example.com", 41)]
    public void ValidPathsParse(string input, string localPart, string domain, int consumed)
    {
        PathParseStatus status = PathParser.TryParse(Encoding.UTF8.GetBytes(input), allowNull: false, allowPostmaster: false,
            allowUtf8: false, out var mailbox, out int used);
        Assert.Equal(PathParseStatus.Ok, status);
        Assert.Equal(localPart, mailbox!.LocalPart);
        Assert.Equal(domain, mailbox.Domain);
        Assert.Equal(consumed, used);
    }

    [Theory]
    [InlineData("alice@example.com")]           // no angle brackets
    [InlineData("<alice@example.com")]          // unterminated
    [InlineData("<alice>")]                      // no domain (only Postmaster may lack one)
    [InlineData("<alice@>")]
    [InlineData("<.alice@example.com>")]         // empty atom
    [InlineData("<alice.@example.com>")]
    [InlineData("<al..ice@example.com>")]
    [InlineData("<alice@example..com>")]
    [InlineData("<alice@-example.com>")]         // label starts with a hyphen
    [InlineData("<alice@example-.com>")]
    [InlineData("<alice@[192.0.2.256]>")]        // Snum over 255
    [InlineData("<alice@[192.0.2]>")]
    [InlineData("<alice@[IPv6:2001:db8::zz]>")]
    [InlineData("<al ice@example.com>")]
    [InlineData("<\"unterminated@example.com>")]
    [InlineData("<alice@exa mple.com>")]
    [InlineData("<a@b@example.com>")]
    [InlineData("<alice@example.com..>")]
    [InlineData("<alice@[192.0.2.1].>")]
    public void InvalidPathsAreSyntaxErrors(string input)
    {
        PathParseStatus status = PathParser.TryParse(Encoding.UTF8.GetBytes(input), allowNull: false, allowPostmaster: false,
            allowUtf8: false, out _, out _);
        Assert.Equal(PathParseStatus.Syntax, status);
    }

    [Theory]
    // RFC 5321 §4.1.2: A-d-l = At-domain *( "," At-domain ), followed by ":" before the mailbox.
    [InlineData("<@relay1.example.net rcpt@example.com>")]   // space instead of ':'
    [InlineData("<@a.example,rcpt@example.com>")]            // second element is not an At-domain
    [InlineData("<@a.example,@b.example rcpt@example.com>")]
    [InlineData("<@a.example;rcpt@example.com>")]
    [InlineData("<@example.com>")]                           // a route and no mailbox
    [InlineData("<@:rcpt@example.com>")]                     // empty domain
    [InlineData("<@a..example:rcpt@example.com>")]
    public void MalformedSourceRoutesAreBadSourceRoute(string input)
    {
        foreach (bool allowUtf8 in new[] { false, true })
        {
            PathParseStatus status = PathParser.TryParse(Encoding.UTF8.GetBytes(input), allowNull: true, allowPostmaster: true,
                allowUtf8, out var mailbox, out _);
            Assert.Equal(PathParseStatus.BadSourceRoute, status);
            Assert.Null(mailbox);
        }
    }

    [Fact]
    public void NullReversePathOnlyWhereAllowed()
    {
        Assert.Equal(PathParseStatus.Ok, PathParser.TryParse("<>"u8, allowNull: true, allowPostmaster: false, allowUtf8: false, out var m, out int used));
        Assert.Null(m);
        Assert.Equal(2, used);
        Assert.Equal(PathParseStatus.Syntax, PathParser.TryParse("<>"u8, allowNull: false, allowPostmaster: true, allowUtf8: false, out _, out _));
    }

    [Theory]
    [InlineData("<Postmaster>")]
    [InlineData("<postmaster>")]
    [InlineData("<POSTMASTER>")]
    public void DomainlessPostmasterOnlyWhereAllowed(string input)
    {
        // RFC 5321 §4.1.1.3: "RCPT TO:<Postmaster>" with no domain MUST be accepted.
        Assert.Equal(PathParseStatus.Ok, PathParser.TryParse(Encoding.ASCII.GetBytes(input), false, true, false, out var m, out _));
        Assert.True(m!.IsDomainlessPostmaster);
        Assert.Equal(PathParseStatus.Syntax, PathParser.TryParse(Encoding.ASCII.GetBytes(input), false, false, false, out _, out _));
    }

    [Theory]
    [InlineData("<jürgen@example.com>")]
    [InlineData("<user@bücher.example>")]
    [InlineData("<\"grüße\"@example.com>")]
    public void Utf8NeedsSmtpUtf8(string input)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(input);
        Assert.Equal(PathParseStatus.NonAsciiNotAllowed, PathParser.TryParse(bytes, false, false, allowUtf8: false, out _, out _));
        Assert.Equal(PathParseStatus.Ok, PathParser.TryParse(bytes, false, false, allowUtf8: true, out var m, out _));
        Assert.Equal(input[1..^1], m!.ToString());
    }

    [Fact]
    public void InvalidUtf8IsASyntaxError()
    {
        byte[] bytes = [.. "<a"u8, 0xC3, 0x28, .. "@example.com>"u8];
        Assert.Equal(PathParseStatus.Syntax, PathParser.TryParse(bytes, false, false, allowUtf8: true, out _, out _));
    }

    [Fact]
    public void LengthLimitsOfSection4_5_3_1()
    {
        string local64 = new('a', 64);
        Assert.Equal(PathParseStatus.Ok, PathParser.TryParse(Encoding.ASCII.GetBytes($"<{local64}@example.com>"), false, false, false, out _, out _));
        Assert.Equal(PathParseStatus.TooLong, PathParser.TryParse(Encoding.ASCII.GetBytes($"<{local64}a@example.com>"), false, false, false, out _, out _));
        string domain = string.Join('.', Enumerable.Repeat(new string('d', 60), 4)) + ".example"; // 252 octets
        Assert.Equal(PathParseStatus.TooLong, PathParser.TryParse(Encoding.ASCII.GetBytes($"<{new string('a', 10)}@{domain}>"), false, false, false, out _, out _));
    }

    [Fact]
    public void UnquotedLocalPartRemovesQuotingForLookups()
    {
        PathParser.TryParse("<\"a\\\"b c\"@example.com>"u8, false, false, false, out var m, out _);
        Assert.Equal("a\"b c", m!.UnquotedLocalPart);
    }
}
