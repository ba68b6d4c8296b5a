using System.Buffers;
using System.Text;
using Postbote.Protocol.Smtp;

namespace Postbote.Tests.Protocol;

/// <summary>RFC 5321 §4.1.1.4 end of data, §4.5.2 transparency, §2.3.8 line endings, §4.5.3.1.6 line length.</summary>
public class DataDecoderTests
{
    private static (string Body, DataFaults Faults, bool Completed, int Consumed) Decode(string wire, long limit = 1 << 20, int chunk = int.MaxValue)
    {
        var decoder = new DataDecoder(limit);
        var output = new ArrayBufferWriter<byte>();
        byte[] bytes = Encoding.Latin1.GetBytes(wire);
        int consumed = 0;
        while (consumed < bytes.Length && !decoder.Completed)
            consumed += decoder.Decode(bytes.AsSpan(consumed, Math.Min(chunk, bytes.Length - consumed)), output);
        return (Encoding.Latin1.GetString(output.WrittenSpan), decoder.Faults, decoder.Completed, consumed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(int.MaxValue)]
    public void DotUnstuffingIsExact(int chunk)
    {
        // The C15 transcript: only the first dot of a line is removed, a lone ".." is a line with one dot.
        var r = Decode("..first line\r\nSubject: dots\r\n\r\n..\r\n...\r\n..two\r\n.x\r\nend\r\n.\r\nMAIL", chunk: chunk);
        Assert.True(r.Completed);
        Assert.Equal(DataFaults.None, r.Faults);
        Assert.Equal(".first line\r\nSubject: dots\r\n\r\n.\r\n..\r\n.two\r\nx\r\nend\r\n", r.Body);
        Assert.Equal("MAIL".Length, Encoding.Latin1.GetByteCount("..first line\r\nSubject: dots\r\n\r\n..\r\n...\r\n..two\r\n.x\r\nend\r\n.\r\nMAIL") - r.Consumed);
    }

    [Fact]
    public void EmptyMessageEndsAtTheFirstDotLine()
    {
        var r = Decode(".\r\n");
        Assert.True(r.Completed);
        Assert.Equal("", r.Body);
        Assert.Equal(3, r.Consumed);
    }

    [Theory]
    [InlineData("Subject: one\r\n\r\nfirst body\n.\nMAIL FROM:<spoofed@example.net>\r\n.\r\n", DataFaults.BareLineFeed)]
    [InlineData("Subject: two\r\n\r\nbody line\n.\r\nMAIL FROM:<spoofed@example.net>\r\n.\r\n", DataFaults.BareLineFeed)]
    [InlineData("body\r.\r\nmore\r\n.\r\n", DataFaults.BareCarriageReturn)]
    [InlineData("body\r\n.\rX\r\n.\r\n", DataFaults.BareCarriageReturn)]
    public void BareLineEndingsNeverEndTheDataAndAreFlagged(string wire, DataFaults fault)
    {
        // SMTP smuggling (CVE-2023-51764): only CRLF.CRLF ends the data.
        var r = Decode(wire);
        Assert.True(r.Completed);
        Assert.Equal(wire.Length, r.Consumed);
        Assert.Equal(fault, r.Faults);
    }

    [Fact]
    public void LinesOver1000OctetsAreFlagged()
    {
        Assert.Equal(DataFaults.None, Decode(new string('a', 998) + "\r\n.\r\n").Faults);
        Assert.Equal(DataFaults.LineTooLong, Decode(new string('a', 999) + "\r\n.\r\n").Faults);
        // The transparency dot does not count (RFC 5321 §4.5.3.1.6).
        Assert.Equal(DataFaults.None, Decode("." + new string('.', 998) + "\r\n.\r\n").Faults);
    }

    [Fact]
    public void OversizedDataIsCountedButNotWritten()
    {
        string wire = string.Concat(Enumerable.Repeat(new string('A', 78) + "\r\n", 1000)) + ".\r\n";
        var r = Decode(wire, limit: 1000, chunk: 4096);
        Assert.True(r.Completed);
        Assert.Equal(DataFaults.TooBig, r.Faults);
        Assert.Equal(1000, r.Body.Length);
    }
}
