using System.Buffers;

namespace Postbote.Tests.Protocol.Client;

/// <summary>Builds a <see cref="ReadOnlySequence{T}"/> of several segments, as a pipe hands them over.</summary>
internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary>Splits <paramref name="bytes"/> at the given offsets (ascending, 0 to length).</summary>
    public static ReadOnlySequence<byte> Of(byte[] bytes, params int[] cuts)
    {
        var bounds = new List<int> { 0 };
        bounds.AddRange(cuts);
        bounds.Add(bytes.Length);
        Segments first = new(bytes.AsMemory(0, bounds[1]), 0);
        Segments last = first;
        for (int i = 1; i + 1 < bounds.Count; i++)
        {
            var next = new Segments(bytes.AsMemory(bounds[i], bounds[i + 1] - bounds[i]), bounds[i]);
            last.Next = next;
            last = next;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
