using System.Text;
using Postbote.Protocol.Smtp;

namespace Postbote.Tests.Protocol;

/// <summary>RFC 5321 §6.3: counting the <c>Received:</c> header fields of the header section, whatever the chunking.</summary>
public sealed class HopCounterTests
{
    [Theory]
    [InlineData("Received: from a\r\nReceived: from b\r\nSubject: x\r\n\r\nReceived: in the body\r\n", 2)]
    [InlineData("received: lower case\r\nRECEIVED: upper case\r\n\r\n", 2)]
    [InlineData("Received: folded\r\n Received: a continuation line is no field\r\n\tReceived: nor this\r\n\r\n", 1)]
    [InlineData("Received : obsolete space before the colon\r\n\r\n", 1)]
    [InlineData("X-Received: not ours\r\nReceivedX: no\r\nReceive: no\r\nReceived no colon\r\n\r\n", 0)]
    [InlineData("Subject: x\r\n\r\n", 0)]
    [InlineData("\r\nReceived: the body starts at once\r\n", 0)]
    [InlineData("Received: no body and no empty line\r\nReceived: b", 2)]
    [InlineData("Received: bare LF lines\nReceived: b\n\nReceived: body\n", 2)]
    public void CountsTheReceivedFieldsOfTheHeaderSection(string message, int expected)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(message);
        Assert.Equal(expected, HopCounter.CountIn(bytes));
        // Every split point gives the same count.
        for (int split = 0; split <= bytes.Length; split++)
        {
            var counter = new HopCounter();
            counter.Feed(bytes.AsSpan(0, split));
            counter.Feed(bytes.AsSpan(split));
            Assert.Equal(expected, counter.Count);
        }
    }

    [Fact]
    public void OneHundredAndOneReceivedFieldsAreCountedOctetByOctet()
    {
        var text = new StringBuilder();
        for (int i = 0; i < 101; i++) text.Append(System.Globalization.CultureInfo.InvariantCulture, $"Received: from hop{i}.example by hop{i + 1}.example; Fri, 31 Jan 2025 12:00:00 +0000\r\n");
        text.Append("Subject: loop\r\n\r\nbody\r\n");
        byte[] bytes = Encoding.ASCII.GetBytes(text.ToString());
        var counter = new HopCounter();
        foreach (byte b in bytes) counter.Feed([b]);
        Assert.Equal(101, counter.Count);
        Assert.True(counter.Done);
    }
}
