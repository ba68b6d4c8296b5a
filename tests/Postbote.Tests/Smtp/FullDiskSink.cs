using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Smtp;

/// <summary>
/// A message sink on a full file system: every byte goes to <c>/dev/full</c>, so the kernel answers ENOSPC and the
/// session sees the same <see cref="IOException"/> a full spool disk produces. With <see cref="FailAtBegin"/> the failure
/// comes from <see cref="BeginAsync"/> (the first write of a message), else from the first body write.
/// </summary>
public sealed class FullDiskSink(bool failAtBegin) : IMessageSink
{
    public bool FailAtBegin { get; } = failAtBegin;

    /// <summary>How many messages were begun (successfully or not).</summary>
    public int Begun;

    public ValueTask<IMessageWriter> BeginAsync(QueueId id, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Begun);
        var writer = new Writer();
        if (FailAtBegin) writer.WriteToDisk(new byte[1]);
        return new ValueTask<IMessageWriter>(writer);
    }

    private sealed class Writer : IMessageWriter
    {
        private int _calls;

        public long Length { get; private set; }

        /// <summary>Writes to /dev/full: throws the kernel's ENOSPC as an <see cref="IOException"/>.</summary>
        public void WriteToDisk(ReadOnlySpan<byte> data)
        {
            using var full = new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
            full.Write(data);
        }

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            // The first write is the Received header from the begin; the client's body bytes come after it.
            if (_calls++ > 0) WriteToDisk(data.Span);
            Length += data.Length;
            return default;
        }

        public Stream OpenRead(long start) => new MemoryStream();

        public ValueTask CommitAsync(Envelope envelope, CancellationToken cancellationToken)
        {
            WriteToDisk("envelope"u8);
            return default;
        }

        public ValueTask DisposeAsync() => default;
    }
}
