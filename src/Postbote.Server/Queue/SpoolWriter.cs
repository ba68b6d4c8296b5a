using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// Writes one message body into the spool. Up to <see cref="Spool.BufferSize"/> bytes stay in one pooled buffer, so
/// a small message costs one open and one write at commit; a larger body goes to <c>&lt;id&gt;.eml</c> in chunks of
/// that size.
/// </summary>
internal sealed class SpoolWriter : IMessageWriter
{
    private const int Open = 0, Committing = 1, Closed = 2;

    private readonly Spool _spool;
    private byte[]? _buffer;
    private int _buffered;
    private long _length;
    private SafeFileHandle? _file;
    private long _fileOffset;
    private int _state;

    public SpoolWriter(Spool spool, QueueId id, string bodyPath)
    {
        _spool = spool;
        Id = id;
        BodyPath = bodyPath;
        _buffer = ArrayPool<byte>.Shared.Rent(Spool.BufferSize);
    }

    public QueueId Id { get; }

    public string BodyPath { get; }

    public long Length => _length;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_state != Open || _buffer is null) throw new InvalidOperationException("The message is already committed or aborted.");
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        ReadOnlySpan<byte> span = data.Span;
        int free = _buffer.Length - _buffered;
        if (span.Length <= free)
        {
            span.CopyTo(_buffer.AsSpan(_buffered));
            _buffered += span.Length;
            _length += span.Length;
            return default;
        }
        try
        {
            // Fill the buffer, write it, then either buffer the rest or write it straight through.
            span[..free].CopyTo(_buffer.AsSpan(_buffered));
            _buffered += free;
            _length += free;
            span = span[free..];
            FlushBuffer();
            if (span.Length >= _buffer.Length)
            {
                RandomAccess.Write(_file!, span, _fileOffset);
                _fileOffset += span.Length;
            }
            else
            {
                span.CopyTo(_buffer);
                _buffered = span.Length;
            }
            _length += span.Length;
            return default;
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    public ValueTask CommitAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Id != Id) throw new ArgumentException("The envelope's queue ID differs from the one given at begin.", nameof(envelope));
        if (Interlocked.CompareExchange(ref _state, Committing, Open) != Open)
        {
            throw new InvalidOperationException("The message is already committed or aborted.");
        }
        Task commit = _spool.CommitAsync(this, envelope with { Size = _length });
        return cancellationToken.CanBeCanceled ? new ValueTask(commit.WaitAsync(cancellationToken)) : new ValueTask(commit);
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Closed, Open) == Open)
        {
            // Aborted: nothing was committed, remove what was written.
            CloseFile();
            ReturnBuffer();
            if (_fileOffset > 0 || File.Exists(BodyPath)) Spool.TryDelete(BodyPath);
        }
        return default;
    }

    /// <summary>Writes what is still buffered, fsyncs in per-file mode, and closes the body file.</summary>
    internal void FinishBody(bool fsync)
    {
        try
        {
            FlushBuffer();
            if (fsync) RandomAccess.FlushToDisk(_file!);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException(e.Message, e);
        }
        finally
        {
            CloseFile();
            ReturnBuffer();
        }
    }

    /// <summary>Marks the writer closed after its commit ended (either way).</summary>
    internal void MarkClosed() => Volatile.Write(ref _state, Closed);

    private void FlushBuffer()
    {
        _file ??= File.OpenHandle(BodyPath, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete);
        if (_buffered == 0) return;
        RandomAccess.Write(_file, _buffer!.AsSpan(0, _buffered), _fileOffset);
        _fileOffset += _buffered;
        _buffered = 0;
    }

    private void CloseFile()
    {
        _file?.Dispose();
        _file = null;
    }

    private void ReturnBuffer()
    {
        byte[]? b = _buffer;
        _buffer = null;
        if (b is not null) ArrayPool<byte>.Shared.Return(b);
    }
}
