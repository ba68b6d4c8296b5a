using System.Buffers;
using System.Text;
using Postbote.Core;
using Postbote.Protocol.Smtp.Client;

namespace Postbote.Tests.Protocol.Client;

/// <summary>RFC 5321 §4.2 reply lines, §4.2.1 multi-line replies, §4.5.3.1.5 reply line length; RFC 3463 / RFC 2034
/// enhanced status codes.</summary>
public class SmtpReplyParserTests
{
    internal static (OperationStatus Status, SmtpReply? Reply, SmtpReplyFault Fault, long Consumed) Parse(
        string wire, int maxLineLength = SmtpReplyParser.DefaultMaxLineLength, int maxLines = SmtpReplyParser.DefaultMaxLines) =>
        Parse(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(wire)), maxLineLength, maxLines);

    internal static (OperationStatus Status, SmtpReply? Reply, SmtpReplyFault Fault, long Consumed) Parse(
        ReadOnlySequence<byte> input, int maxLineLength = SmtpReplyParser.DefaultMaxLineLength, int maxLines = SmtpReplyParser.DefaultMaxLines)
    {
        var reader = new SequenceReader<byte>(input);
        var status = SmtpReplyParser.TryParse(ref reader, out var reply, out var fault, maxLineLength, maxLines);
        return (status, reply, fault, reader.Consumed);
    }

    // §4.2: Reply-code [ SP textstring ] CRLF, with the enhanced status code as the first token of the text (RFC 2034).
    [Theory]
    [InlineData("220 mx.example.org ESMTP Postfix\r\n", 220, null, "mx.example.org ESMTP Postfix")]
    [InlineData("250 2.1.0 Ok\r\n", 250, "2.1.0", "Ok")]
    [InlineData("550 5.1.1 <nobody@example.org>: Recipient address rejected\r\n", 550, "5.1.1", "<nobody@example.org>: Recipient address rejected")]
    [InlineData("421 4.4.2 mx.example.org Error: timeout exceeded\r\n", 421, "4.4.2", "mx.example.org Error: timeout exceeded")]
    [InlineData("354 End data with <CR><LF>.<CR><LF>\r\n", 354, null, "End data with <CR><LF>.<CR><LF>")]
    [InlineData("250\r\n", 250, null, "")]                                // the text is optional
    [InlineData("250 \r\n", 250, null, "")]
    [InlineData("250 2.0.0\r\n", 250, "2.0.0", "")]                       // a status code and no text
    [InlineData("250 5.1.1 odd\r\n", 250, null, "5.1.1 odd")]             // its class contradicts the reply: text
    [InlineData("250 2.0.0Ok\r\n", 250, null, "2.0.0Ok")]                 // not followed by SP: text
    [InlineData("550 5.1.1000 x\r\n", 550, null, "5.1.1000 x")]           // detail = 1*3digit
    [InlineData("550 5..1 x\r\n", 550, null, "5..1 x")]
    [InlineData("452 4.5.3 Error: too many recipients\r\n", 452, "4.5.3", "Error: too many recipients")]
    [InlineData("253 2.0.0 a code no RFC names\r\n", 253, "2.0.0", "a code no RFC names")] // any 2xx-5xx is kept
    [InlineData("556 5.1.10 Recipient address has null MX\r\n", 556, "5.1.10", "Recipient address has null MX")]
    [InlineData("250 ok\n", 250, null, "ok")]                             // a bare LF ends the line too
    public void SingleLineReplies(string wire, int code, string? status, string text)
    {
        var r = Parse(wire);
        Assert.Equal(OperationStatus.Done, r.Status);
        Assert.Equal(wire.Length, r.Consumed);
        Assert.Equal((SmtpReplyCode)code, r.Reply!.Code);
        Assert.Equal(status, r.Reply.Status?.ToString());
        Assert.Equal([text], r.Reply.Lines);
    }

    // §4.2: Reply-code = %x32-35 %x30-35 %x30-39, then SP, "-" or the end of the line.
    [Theory]
    [InlineData("199 x\r\n", SmtpReplyFault.BadCode)]
    [InlineData("600 x\r\n", SmtpReplyFault.BadCode)]
    [InlineData("260 x\r\n", SmtpReplyFault.BadCode)]
    [InlineData("25 x\r\n", SmtpReplyFault.BadCode)]
    [InlineData("2a0 x\r\n", SmtpReplyFault.BadCode)]
    [InlineData("\r\n", SmtpReplyFault.BadCode)]
    [InlineData("HTTP/1.1 400 Bad Request\r\n", SmtpReplyFault.BadCode)]
    [InlineData("250x\r\n", SmtpReplyFault.BadSeparator)]
    [InlineData("250\tok\r\n", SmtpReplyFault.BadSeparator)]
    [InlineData("250-a\r\n251 b\r\n", SmtpReplyFault.CodeMismatch)]
    [InlineData("250-a\r\n550 b\r\n", SmtpReplyFault.CodeMismatch)]
    [InlineData("250-a\r\nfoo\r\n", SmtpReplyFault.BadCode)]
    public void MalformedRepliesAreInvalidAndConsumeNothing(string wire, SmtpReplyFault fault)
    {
        var r = Parse(wire);
        Assert.Equal(OperationStatus.InvalidData, r.Status);
        Assert.Equal(fault, r.Fault);
        Assert.Null(r.Reply);
        Assert.Equal(0, r.Consumed);
    }

    // §4.2.1: every line but the last is code "-" text; the last is code SP text; the code is the same on each.
    [Fact]
    public void MultiLineEhloReply()
    {
        const string wire = "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n";
        var r = Parse(wire);
        Assert.Equal(OperationStatus.Done, r.Status);
        Assert.Equal(wire.Length, r.Consumed);
        Assert.Equal(SmtpReplyCode.Ok, r.Reply!.Code);
        Assert.Null(r.Reply.Status);
        Assert.Equal(["mx.example.org", "PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "CHUNKING"], r.Reply.Lines);
        Assert.Equal(wire, r.Reply.ToString());
    }

    [Theory]
    [InlineData("550-5.7.1 first line\r\n550-5.7.1 second line\r\n550 5.7.1 third line\r\n")]
    [InlineData("250 2.1.5 Ok\r\n")]
    [InlineData("221 2.0.0 Bye\r\n")]
    [InlineData("220 mx.example.org ESMTP\r\n")]
    public void CanonicalRepliesRoundTripToTheSameOctets(string wire)
    {
        var r = Parse(wire);
        Assert.Equal(OperationStatus.Done, r.Status);
        Assert.Equal(wire, r.Reply!.ToString());
    }

    [Fact]
    public void EnhancedCodeIsTakenOffEveryLineThatRepeatsIt()
    {
        var r = Parse("451-4.7.1 Please try again later\r\n451-see https://example.org/greylisting\r\n451 4.7.1 Greylisted\r\n");
        Assert.Equal(new EnhancedStatusCode(4, 7, 1), r.Reply!.Status);
        Assert.Equal(["Please try again later", "see https://example.org/greylisting", "Greylisted"], r.Reply.Lines);
        Assert.True(r.Reply.IsTransientFailure);
        Assert.False(r.Reply.IsPermanentFailure);
    }

    [Theory]
    [InlineData("")]
    [InlineData("25")]
    [InlineData("250 ok")]
    [InlineData("250 ok\r")]
    [InlineData("250-mx.example.org\r\n")]
    [InlineData("250-mx.example.org\r\n250-PIPELINING\r\n250 SIZ")]
    public void IncompleteRepliesNeedMoreDataAndConsumeNothing(string wire)
    {
        var r = Parse(wire);
        Assert.Equal(OperationStatus.NeedMoreData, r.Status);
        Assert.Null(r.Reply);
        Assert.Equal(0, r.Consumed);
    }

    [Fact]
    public void PipelinedRepliesAreReadOneAtATime()
    {
        // RFC 2920 §3.1: the replies to a pipelined MAIL, RCPT, RCPT, DATA arrive together.
        byte[] wire = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n354 go ahead\r\n"u8.ToArray();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(wire));
        var codes = new List<(int, string?, string)>();
        while (SmtpReplyParser.TryParse(ref reader, out var reply) == OperationStatus.Done)
            codes.Add(((int)reply!.Code, reply.Status?.ToString(), reply.Lines[0]));
        Assert.Equal([(250, "2.1.0", "Ok"), (250, "2.1.5", "Ok"), (550, "5.1.1", "No such user"), (354, null, "go ahead")], codes);
        Assert.Equal(wire.Length, reader.Consumed);
    }

    // §4.5.3.1.5: "The maximum total length of a reply line including the reply code and the <CRLF> is 512 octets."
    [Fact]
    public void LineLengthIsBoundedIncludingCodeAndCrlf()
    {
        string exact = "250 " + new string('x', 506) + "\r\n";
        Assert.Equal(512, exact.Length);
        var ok = Parse(exact, maxLineLength: 512);
        Assert.Equal(OperationStatus.Done, ok.Status);
        Assert.Equal(506, ok.Reply!.Lines[0].Length);

        var over = Parse("250 " + new string('x', 507) + "\r\n", maxLineLength: 512);
        Assert.Equal((OperationStatus.InvalidData, SmtpReplyFault.LineTooLong, 0L), (over.Status, over.Fault, over.Consumed));
    }

    [Fact]
    public void ALineWithoutEndIsRefusedOnceItReachesTheLimitWithoutWaitingForMore()
    {
        var waiting = Parse("250 " + new string('x', 507), maxLineLength: 512);
        Assert.Equal(OperationStatus.NeedMoreData, waiting.Status);
        var refused = Parse("250 " + new string('x', 508), maxLineLength: 512);
        Assert.Equal((OperationStatus.InvalidData, SmtpReplyFault.LineTooLong), (refused.Status, refused.Fault));
        // The default limit: 2,048 octets without a line end.
        var endless = Parse("250-" + new string('x', 2044));
        Assert.Equal((OperationStatus.InvalidData, SmtpReplyFault.LineTooLong), (endless.Status, endless.Fault));
    }

    [Fact]
    public void LineCountIsBounded()
    {
        Assert.Equal(OperationStatus.Done, Parse("250-a\r\n250-b\r\n250 c\r\n", maxLines: 3).Status);
        var r = Parse("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", maxLines: 3);
        Assert.Equal((OperationStatus.InvalidData, SmtpReplyFault.TooManyLines), (r.Status, r.Fault));
        var endless = Parse(string.Concat(Enumerable.Repeat("250-more\r\n", 100)));
        Assert.Equal((OperationStatus.InvalidData, SmtpReplyFault.TooManyLines), (endless.Status, endless.Fault));
    }

    [Theory]
    [InlineData("250 Gr\u00c3\u00bc\u00c3\u009fe\r\n", "Grüße")]                 // UTF-8 octets (RFC 6531)
    [InlineData("250 a\u0001b\u001b[31m\r\n", "a?b?[31m")]                       // control characters
    [InlineData("250 a\rb\r\n", "a?b")]                                           // a bare CR inside the text
    [InlineData("250 a\u00ffb\r\n", "a\ufffdb")]                                  // not UTF-8
    [InlineData("250 tab\there\r\n", "tab\there")]
    public void TextIsDecodedAndSafeToLog(string wire, string text)
    {
        var r = Parse(wire);
        Assert.Equal(OperationStatus.Done, r.Status);
        Assert.Equal([text], r.Reply!.Lines);
    }

    [Fact]
    public void EverySegmentSplitGivesTheSameReply()
    {
        byte[] wire = "550-5.7.1 Service unavailable; client host blocked\r\n550 5.7.1 see https://example.org/x\r\nNEXT"u8.ToArray();
        for (int a = 0; a <= wire.Length; a++)
        {
            for (int b = a; b <= wire.Length; b += 7)
            {
                var r = Parse(Segments.Of(wire, a, b));
                Assert.Equal(OperationStatus.Done, r.Status);
                Assert.Equal(wire.Length - 4, r.Consumed);
                Assert.Equal(["Service unavailable; client host blocked", "see https://example.org/x"], r.Reply!.Lines);
                Assert.Equal(new EnhancedStatusCode(5, 7, 1), r.Reply.Status);
            }
        }
    }
}
