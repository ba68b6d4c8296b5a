using System.Text;
using Postbote.Smtp;

namespace Postbote.Tests.Tracing;

/// <summary>The Message-ID field (RFC 5322 §3.6.4) found in a header section that arrives in pieces.</summary>
public sealed class MessageIdScannerTests
{
    private const string Header = "Received: from client.test\r\n\tby mx.test; Sat, 1 Mar 2025 10:00:00 +0000\r\n" +
        "From: <a@example.org>\r\nMESSAGE-id:\r\n <abc.123@example.org>\r\nSubject: hi\r\n\r\nMessage-ID: <body@example.org>\r\n";

    [Fact]
    public void FoundWhereverTheChunksAreSplitAndFoldedLinesJoined()
    {
        byte[] bytes = Encoding.ASCII.GetBytes(Header);
        for (int split = 0; split <= bytes.Length; split++)
        {
            var scanner = new MessageIdScanner();
            scanner.Feed(bytes.AsSpan(0, split));
            scanner.Feed(bytes.AsSpan(split));
            Assert.Equal("<abc.123@example.org>", scanner.MessageId);
        }
    }

    [Fact]
    public void AMessageIdInTheBodyIsNotTheMessages()
    {
        var scanner = new MessageIdScanner();
        scanner.Feed("From: <a@example.org>\r\n\r\nMessage-ID: <body@example.org>\r\n"u8);
        Assert.Null(scanner.MessageId);
    }

    [Fact]
    public void AFieldWhoseNameOnlyEndsInMessageIdIsNotIt()
    {
        var scanner = new MessageIdScanner();
        scanner.Feed("X-Original-Message-ID: <old@example.org>\r\nIn-Reply-To: <x@example.org>\r\nMessage-Id: <new@example.org>\r\n\r\n"u8);
        Assert.Equal("<new@example.org>", scanner.MessageId);
    }

    [Fact]
    public void ResetStartsOverForTheNextMessage()
    {
        var scanner = new MessageIdScanner();
        scanner.Feed("Message-ID: <one@example.org>\r\n\r\n"u8);
        scanner.Reset();
        scanner.Feed("Message-ID: <two@example.org>\r\n\r\n"u8);
        Assert.Equal("<two@example.org>", scanner.MessageId);
    }
}
