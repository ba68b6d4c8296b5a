using System.Globalization;
using System.Net;
using System.Text;
using Postbote.Core;
using Postbote.Security;

namespace Postbote.Tests.Security;

/// <summary>RFC 5321 §6.3 at the end of data: more <c>Received:</c> fields than the limit is a loop, refused with
/// 554 5.4.6; the limit itself is accepted; a header section past the kept 64 KiB is counted from the data.</summary>
public sealed class HopCountPolicyTests
{
    private static InboundMessage Message(int received, int padding = 0)
    {
        var text = new StringBuilder();
        for (int i = 0; i < received; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"Received: from hop{i}.example by hop{i + 1}.example; Fri, 31 Jan 2025 12:00:00 +0000\r\n");
            if (i == 0 && padding > 0) text.Append("X-Padding: ").Append('x', padding).Append("\r\n");
        }
        text.Append("Subject: loop\r\n\r\nReceived: in the body does not count\r\n");
        byte[] data = Encoding.ASCII.GetBytes(text.ToString());
        int end = text.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        bool complete = end <= InboundMessage.MaxHeaderSection;
        ReadOnlyMemory<byte> header = data.AsMemory(0, Math.Min(end, InboundMessage.MaxHeaderSection));
        return new InboundMessage(new QueueId("0123456789ABCDEF"), new PolicyTransaction(null), [], header, complete, data.Length,
            () => new MemoryStream(data, writable: false));
    }

    private static readonly SessionInfo Session = new("s1", new IPEndPoint(IPAddress.Loopback, 4000), new IPEndPoint(IPAddress.Loopback, 25), false);

    [Theory]
    [InlineData(0, PolicyVerdict.Accept)]
    [InlineData(100, PolicyVerdict.Accept)]
    [InlineData(101, PolicyVerdict.Reject)]
    public async Task MoreReceivedFieldsThanTheLimitAreRefused(int received, PolicyVerdict verdict)
    {
        PolicyDecision d = await new HopCountPolicy(100).CheckDataAsync(Session, Message(received), CancellationToken.None);
        Assert.Equal(verdict, d.Verdict);
        if (verdict == PolicyVerdict.Reject)
        {
            Assert.Equal("554 5.4.6 Error: too many hops (mail loop)\r\n", d.Reply!.ToString());
            Assert.Equal("too many hops: more than 100 Received: header fields (limits.hop_count_limit)", d.Reason);
        }
    }

    [Fact]
    public async Task AHeaderSectionLongerThanTheKeptPartIsCountedFromTheData()
    {
        InboundMessage m = Message(101, padding: 70_000);
        Assert.False(m.HeaderSectionComplete);
        Assert.Equal(PolicyVerdict.Reject, (await new HopCountPolicy(100).CheckDataAsync(Session, m, CancellationToken.None)).Verdict);
    }

    [Fact]
    public async Task ZeroTurnsTheCheckOff() =>
        Assert.Equal(PolicyVerdict.Accept, (await new HopCountPolicy(0).CheckDataAsync(Session, Message(500), CancellationToken.None)).Verdict);
}
