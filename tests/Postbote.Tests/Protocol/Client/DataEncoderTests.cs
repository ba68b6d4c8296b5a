using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Postbote.Protocol.Smtp;
using Postbote.Protocol.Smtp.Client;

namespace Postbote.Tests.Protocol.Client;

/// <summary>RFC 5321 §4.5.2 transparency, §2.3.8 line ends, §4.1.1.4 end of data, on the sending side.</summary>
public class DataEncoderTests
{
    private static string Encode(string body, params int[] cuts)
    {
        byte[] bytes = Encoding.Latin1.GetBytes(body);
        var output = new ArrayBufferWriter<byte>();
        var encoder = new DataEncoder();
        int at = 0;
        foreach (int cut in cuts.Append(bytes.Length))
        {
            encoder.Encode(bytes.AsSpan(at, cut - at), output);
            at = cut;
        }
        encoder.Complete(output);
        Assert.Equal(output.WrittenCount, encoder.EncodedLength);
        return Encoding.Latin1.GetString(output.WrittenSpan);
    }

    // §4.5.2: a period at the start of a line gets one more; §4.1.1.4: a missing final CRLF is added, an extra one never.
    [Theory]
    [InlineData("", ".\r\n")]
    [InlineData("a", "a\r\n.\r\n")]
    [InlineData("a\r\n", "a\r\n.\r\n")]
    [InlineData("a\r\n\r\n", "a\r\n\r\n.\r\n")]
    [InlineData(".", "..\r\n.\r\n")]
    [InlineData(".\r\n", "..\r\n.\r\n")]
    [InlineData("..\r\n", "...\r\n.\r\n")]
    [InlineData(".x\r\n", "..x\r\n.\r\n")]
    [InlineData("x\r\n.\r\ny", "x\r\n..\r\ny\r\n.\r\n")]
    [InlineData("a.b\r\nc.\r\n", "a.b\r\nc.\r\n.\r\n")]
    [InlineData("Subject: t\r\n\r\n.\r\n..\r\n.end", "Subject: t\r\n\r\n..\r\n...\r\n..end\r\n.\r\n")]
    public void Transparency(string body, string wire) => Assert.Equal(wire, Encode(body));

    // §2.3.8: "SMTP client implementations MUST NOT transmit these characters except when they are intended as line
    // terminators and then MUST ... transmit them only as a <CRLF> sequence." A bare CR or LF becomes CRLF, and the
    // line after it is stuffed like any other, so "\n.\n" can never end the data at a lenient receiver.
    [Theory]
    [InlineData("a\nb", "a\r\nb\r\n.\r\n", 1)]
    [InlineData("a\n.\nMAIL FROM:<x@y>\n", "a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n", 3)]
    [InlineData("a\r.\r\nb", "a\r\n..\r\nb\r\n.\r\n", 1)]
    [InlineData("a\r", "a\r\n.\r\n", 1)]
    [InlineData("\r\r\n", "\r\n\r\n.\r\n", 1)]
    [InlineData("\n\n", "\r\n\r\n.\r\n", 2)]
    [InlineData("a\n\r.", "a\r\n\r\n..\r\n.\r\n", 2)]
    public void BareLineEndsAreSentAsCrlf(string body, string wire, int repaired)
    {
        Assert.Equal(wire, Encode(body));
        var encoder = new DataEncoder();
        var output = new ArrayBufferWriter<byte>();
        encoder.Encode(Encoding.Latin1.GetBytes(body), output);
        encoder.Complete(output);
        Assert.Equal(repaired, encoder.RepairedLineEnds);
    }

    private const string Tricky = "..lead\r\n.\r\n\r\n.x\r\n..\r\nmid.dle\r\n.\r.\n.\r\n\r.\n\n.";
    private const string TrickyWire = "...lead\r\n..\r\n\r\n..x\r\n...\r\nmid.dle\r\n..\r\n..\r\n..\r\n\r\n..\r\n\r\n..\r\n.\r\n";

    [Fact]
    public void EverySplitPointGivesTheSameOctets()
    {
        Assert.Equal(TrickyWire, Encode(Tricky));
        for (int a = 0; a <= Tricky.Length; a++)
        {
            Assert.Equal(TrickyWire, Encode(Tricky, a));
            for (int b = a; b <= Tricky.Length; b++)
                Assert.Equal(TrickyWire, Encode(Tricky, a, b));
        }
        Assert.Equal(TrickyWire, Encode(Tricky, Enumerable.Range(0, Tricky.Length + 1).ToArray()));
    }

    [Fact]
    public void LongestLineIsMeasuredWithoutTheStuffedPeriod()
    {
        var encoder = new DataEncoder();
        var output = new ArrayBufferWriter<byte>();
        encoder.Encode(Encoding.ASCII.GetBytes("abc\r\n." + new string('x', 997) + "\r\nz"), output);
        encoder.Complete(output);
        Assert.Equal(998, encoder.LongestLine);
    }

    [Fact]
    public void CompleteEndsTheMessageOnce()
    {
        var encoder = new DataEncoder();
        var output = new ArrayBufferWriter<byte>();
        encoder.Complete(output);
        Assert.True(encoder.Completed);
        Assert.Throws<InvalidOperationException>(() => encoder.Complete(output));
        Assert.Throws<InvalidOperationException>(() => encoder.Encode("x"u8, output));
        Assert.Equal(".\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Fact]
    public void EncodingAllocatesNothingPerChunk()
    {
        byte[] body = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("Line of text.\r\n.dot\r\n..\r\nbare\nend\r", 200)));
        var output = new ArrayBufferWriter<byte>(body.Length * 2 + 16);
        void Run()
        {
            output.ResetWrittenCount();
            var encoder = new DataEncoder();
            for (int at = 0; at < body.Length; at += 37)
                encoder.Encode(body.AsSpan(at, Math.Min(37, body.Length - at)), output);
            encoder.Complete(output);
        }
        Run(); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    // The round trip: Postbote's own DATA decoder reads what the encoder wrote back to the same octets (with bare line
    // ends as CRLF and a final CRLF where it was missing), whatever the chunking on either side.
    [Fact]
    public void DecoderReadsBackWhatTheEncoderWrote()
    {
        var random = new Random(9);
        byte[] alphabet = ".\r\n a.\u00e4Z"u8.ToArray();
        for (int round = 0; round < 400; round++)
        {
            byte[] body = new byte[random.Next(0, 900)];
            for (int i = 0; i < body.Length; i++) body[i] = alphabet[random.Next(alphabet.Length)];

            var wire = new ArrayBufferWriter<byte>();
            var encoder = new DataEncoder();
            for (int at = 0; at < body.Length;)
            {
                int n = Math.Min(random.Next(1, 64), body.Length - at);
                encoder.Encode(body.AsSpan(at, n), wire);
                at += n;
            }
            encoder.Complete(wire);

            var decoded = new ArrayBufferWriter<byte>();
            var decoder = new DataDecoder(1 << 20);
            int consumed = 0;
            ReadOnlySpan<byte> sent = wire.WrittenSpan;
            while (consumed < sent.Length && !decoder.Completed)
            {
                int n = Math.Min(random.Next(1, 64), sent.Length - consumed);
                consumed += decoder.Decode(sent.Slice(consumed, n), decoded);
            }

            string original = Encoding.Latin1.GetString(body);
            string expected = Regex.Replace(original, "\r\n|\r|\n", "\r\n");
            if (expected.Length > 0 && !expected.EndsWith("\r\n", StringComparison.Ordinal)) expected += "\r\n";
            Assert.True(decoder.Completed, $"round {round}: no end of data");
            Assert.Equal(sent.Length, consumed);
            Assert.Equal(DataFaults.None, decoder.Faults);
            Assert.Equal(expected, Encoding.Latin1.GetString(decoded.WrittenSpan));
        }
    }
}
