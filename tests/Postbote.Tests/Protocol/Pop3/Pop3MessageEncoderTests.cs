using System.Text;
using Postbote.Protocol.Pop3;

namespace Postbote.Tests.Protocol.Pop3;

/// <summary>RFC 1939 §3 (CRLF, byte-stuffing, ".CRLF") and §7 (TOP), fed at every split point.</summary>
public class Pop3MessageEncoderTests
{
    [Theory]
    [InlineData("a\nb\n", -1, "a\r\nb\r\n.\r\n")]
    [InlineData("a\r\nb\r\n", -1, "a\r\nb\r\n.\r\n")]
    [InlineData("a\nb", -1, "a\r\nb\r\n.\r\n")]
    [InlineData(".\n..x\n.", -1, "..\r\n...x\r\n..\r\n.\r\n")]
    [InlineData("a\rb\n", -1, "a\rb\r\n.\r\n")]
    [InlineData("x\r", -1, "x\r\r\n.\r\n")]
    [InlineData("", -1, ".\r\n")]
    [InlineData("H: 1\n\nb1\nb2\n", 0, "H: 1\r\n\r\n.\r\n")]
    [InlineData("H: 1\r\n\r\nb1\r\n.b2\r\nb3\r\n", 2, "H: 1\r\n\r\nb1\r\n..b2\r\n.\r\n")]
    [InlineData("H: 1\nH: 2", 5, "H: 1\r\nH: 2\r\n.\r\n")]
    public void EncodesAtEverySplitPoint(string stored, int bodyLines, string wire)
    {
        byte[] input = Encoding.ASCII.GetBytes(stored);
        for (int split = 0; split <= input.Length; split++)
        {
            var encoder = new Pop3MessageEncoder(bodyLines);
            var output = new byte[Pop3MessageEncoder.MaxEncodedLength(input.Length) + 8];
            int w = encoder.Encode(input.AsSpan(0, split), output);
            w += encoder.Encode(input.AsSpan(split), output.AsSpan(w));
            w += encoder.Finish(output.AsSpan(w));
            Assert.Equal(wire, Encoding.ASCII.GetString(output, 0, w));
        }
    }

    [Theory]
    [InlineData("RETR 1", Pop3Verb.Retr, "1")]
    [InlineData("retr 1", Pop3Verb.Retr, "1")]
    [InlineData("TOP 1 2", Pop3Verb.Top, "1 2")]
    [InlineData("PASS a b  c", Pop3Verb.Pass, "a b  c")]
    [InlineData("QUITX", Pop3Verb.Unknown, "")]
    [InlineData("", Pop3Verb.Unknown, "")]
    public void ParsesTheKeyword(string line, Pop3Verb verb, string args)
    {
        Assert.Equal(verb, Pop3CommandParser.ParseVerb(Encoding.ASCII.GetBytes(line), out ReadOnlySpan<byte> a));
        Assert.Equal(args, Encoding.ASCII.GetString(a));
    }

    [Theory]
    [InlineData("1", true, 1)]
    [InlineData("999999999", true, 999999999)]
    [InlineData("0", false, 0)]
    [InlineData("1000000000", false, 0)]
    [InlineData("+1", false, 0)]
    [InlineData("", false, 0)]
    public void ReadsMessageNumbers(string text, bool ok, int number)
    {
        Assert.Equal(ok, Pop3CommandParser.TryParseMessageNumber(Encoding.ASCII.GetBytes(text), out int n));
        Assert.Equal(number, n);
    }
}
