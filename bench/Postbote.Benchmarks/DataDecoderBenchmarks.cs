using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Postbote.Protocol.Smtp;

namespace Postbote.Benchmarks;

/// <summary>
/// The DATA decoder (RFC 5321 §4.5.2) on a whole message as it arrives on the wire: 78-character text lines, every
/// tenth line dot-stuffed, then <c>CRLF . CRLF</c>. Decoded into an <see cref="ArrayBufferWriter{T}"/> that is reused,
/// so the figure is the decoder's own cost. <see cref="SegmentBytes"/> feeds the input in pipe-sized pieces as the
/// session does (4096 bytes) or all at once (0).
/// </summary>
[MemoryDiagnoser]
public class DataDecoderBenchmarks
{
    private byte[] _wire = [];
    private ArrayBufferWriter<byte> _output = new();

    /// <summary>Message size in bytes before stuffing.</summary>
    [Params(2048, 65536)]
    public int Size { get; set; }

    /// <summary>Input segment size in bytes; 0 = the whole message in one span.</summary>
    [Params(0, 4096)]
    public int SegmentBytes { get; set; }

    /// <summary>Builds the wire form of the message.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var sb = new StringBuilder(Size + Size / 10 + 16);
        int line = 0;
        while (sb.Length < Size)
        {
            if (line % 10 == 3) sb.Append("..stuffed ");
            sb.Append('x', 78 - (line % 10 == 3 ? 10 : 0)).Append("\r\n");
            line++;
        }
        sb.Append(".\r\n");
        _wire = Encoding.ASCII.GetBytes(sb.ToString());
        _output = new ArrayBufferWriter<byte>(_wire.Length);
    }

    /// <summary>Decodes the whole message until the end-of-data line.</summary>
    /// <returns>The decoded length.</returns>
    [Benchmark]
    public long Decode()
    {
        _output.ResetWrittenCount();
        var decoder = new DataDecoder(10_240_000);
        ReadOnlySpan<byte> input = _wire;
        int step = SegmentBytes == 0 ? input.Length : SegmentBytes;
        while (!decoder.Completed && !input.IsEmpty)
        {
            ReadOnlySpan<byte> piece = input.Length > step ? input[..step] : input;
            int used = decoder.Decode(piece, _output);
            input = input[used..];
        }
        if (!decoder.Completed) throw new InvalidOperationException("The decoder did not see the end of data.");
        return decoder.DecodedLength;
    }
}
