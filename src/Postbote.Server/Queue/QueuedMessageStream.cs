using System.Text;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// A queued message as it is delivered, read-only and forward-only: the header fields the end-of-data policy added
/// (<see cref="Envelope.AddedHeaders"/>), then the <see cref="Envelope.Size"/> stored bytes from their file. The file is
/// read with positional reads, so a spool segment shared with other records is never read past the message.
/// </summary>
public sealed class QueuedMessageStream : Stream
{
    private readonly byte[] _prefix;
    private readonly SafeFileHandle _file;
    private readonly long _offset;
    private readonly long _size;
    private long _position;

    private QueuedMessageStream(byte[] prefix, SafeFileHandle file, long offset, long size)
    {
        _prefix = prefix;
        _file = file;
        _offset = offset;
        _size = size;
    }

    /// <summary>Opens a queued message.</summary>
    /// <param name="envelope">Its envelope: the added header fields and the stored size in bytes.</param>
    /// <param name="bodyPath">The file that holds the stored bytes.</param>
    /// <param name="bodyOffset">Where in <paramref name="bodyPath"/> they start, in bytes.</param>
    /// <returns>The stream; dispose it to close the file.</returns>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read.</exception>
    public static QueuedMessageStream Open(Envelope envelope, string bodyPath, long bodyOffset)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        SafeFileHandle file = File.OpenHandle(bodyPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
            FileOptions.SequentialScan);
        return new QueuedMessageStream(Encoding.UTF8.GetBytes(envelope.AddedHeaders ?? ""), file, bodyOffset, envelope.Size);
    }

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <summary>The message's length in bytes: the added header fields and the stored bytes.</summary>
    public override long Length => _prefix.Length + _size;

    /// <summary>The bytes read so far.</summary>
    /// <exception cref="NotSupportedException">On set: the stream does not seek.</exception>
    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Reads the next bytes of the message.</summary>
    /// <param name="buffer">Where to put them.</param>
    /// <returns>The number of bytes read; 0 at the end.</returns>
    /// <exception cref="IOException">The file cannot be read, or it ends before the size the envelope gives.</exception>
    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty || _position >= Length) return 0;
        if (_position < _prefix.Length)
        {
            int n = Math.Min(buffer.Length, _prefix.Length - (int)_position);
            _prefix.AsSpan((int)_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }
        long inBody = _position - _prefix.Length;
        int want = (int)Math.Min(buffer.Length, _size - inBody);
        int read = RandomAccess.Read(_file, buffer[..want], _offset + inBody);
        if (read == 0) throw new IOException("The queued message is shorter than its envelope says.");
        _position += read;
        return read;
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty || _position >= Length) return 0;
        if (_position < _prefix.Length) return Read(buffer.Span);
        long inBody = _position - _prefix.Length;
        int want = (int)Math.Min(buffer.Length, _size - inBody);
        int read = await RandomAccess.ReadAsync(_file, buffer[..want], _offset + inBody, cancellationToken).ConfigureAwait(false);
        if (read == 0) throw new IOException("The queued message is shorter than its envelope says.");
        _position += read;
        return read;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Does nothing: the stream is read-only.</summary>
    public override void Flush()
    {
    }

    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _file.Dispose();
        base.Dispose(disposing);
    }
}
