using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;
using Postbote.IO;

namespace Postbote.Queue;

/// <summary>
/// One message being received into the spool. The body grows in a pooled buffer (16 KiB doubling up to
/// <see cref="Spool.InlineLimit"/>); a body that outgrows it is streamed to a file of its own, <c>&lt;id&gt;.eml</c>, so
/// memory per session stays bounded whatever the message size. Small bodies never touch the disk until the commit
/// appends them to the spool's segment. With a <see cref="BodyMemoryBudget"/> (<see cref="UseBudget"/>, before the first
/// write) every buffer is reserved from it first; when it is used up the body goes to its own file at once, whatever its
/// size, so the memory of all bodies being received together stays within the budget.
/// </summary>
internal sealed class SpoolWriter : IMessageWriter
{
    private const int Open = 0, Committing = 1, Closed = 2;
    private const int FirstBuffer = 16 * 1024;

    private readonly Spool _spool;
    private byte[]? _buffer;
    private int _buffered;
    private long _length;
    private SafeFileHandle? _file;
    private long _fileOffset;
    private uint _crc = 0xFFFFFFFFu;
    private int _state;
    private BodyMemoryBudget? _budget;
    /// <summary>Bytes of <see cref="_budget"/> that <see cref="_buffer"/> holds.</summary>
    private long _reserved;

    /// <summary>Creates the writer; its first buffer is taken at the first write.</summary>
    public SpoolWriter(Spool spool, QueueId id)
    {
        _spool = spool;
        Id = id;
    }

    /// <summary>Makes this writer reserve its buffers from <paramref name="budget"/>.</summary>
    /// <exception cref="InvalidOperationException">Called after the first write.</exception>
    internal void UseBudget(BodyMemoryBudget budget)
    {
        if (_buffer is not null || _file is not null) throw new InvalidOperationException("The budget must be set before the first write.");
        _budget = budget;
    }

    public QueueId Id { get; }

    /// <summary>The body file when the body outgrew memory, else <c>null</c>.</summary>
    public string? ExternalPath { get; private set; }

    /// <summary>The open body file, for the committer's fsync.</summary>
    public SafeFileHandle? ExternalFile => _file;

    /// <summary>The body while it is in memory (valid until the writer is disposed).</summary>
    public ReadOnlyMemory<byte> InlineBody => _file is null && _buffer is not null ? _buffer.AsMemory(0, _buffered) : default;

    public long Length => _length;

    /// <summary>CRC-32C of an own-file body, computed as it was written; <c>null</c> while the body is in memory.</summary>
    public uint? Checksum => _file is null ? null : ~_crc;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_state != Open) throw new InvalidOperationException("The message is already committed or aborted.");
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        ReadOnlySpan<byte> span = data.Span;
        try
        {
            if (_file is null && _buffered + span.Length > (_buffer?.Length ?? 0)) Grow(_buffered + span.Length);
            if (_file is null)
            {
                span.CopyTo(_buffer!.AsSpan(_buffered));
                _buffered += span.Length;
            }
            else
            {
                RandomAccess.Write(_file, span, _fileOffset);
                _crc = Crc32C.Append(_crc, span);
                _fileOffset += span.Length;
            }
            _length += span.Length;
            return default;
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    public Stream OpenRead(long start)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, _length);
        if (_state != Open) throw new InvalidOperationException("The message is already committed or aborted.");
        if (_file is null)
            return _buffer is null ? new MemoryStream([], false) : new MemoryStream(_buffer, (int)start, _buffered - (int)start, writable: false);
        try
        {
            var stream = new FileStream(ExternalPath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024,
                FileOptions.SequentialScan);
            stream.Position = start;
            return stream;
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    /// <summary>Doubles the buffer (from 16 KiB) up to the inline limit; past it, or when the budget has no room for the
    /// bigger buffer, moves the body to its own file and gives the buffer back.</summary>
    private void Grow(int needed)
    {
        if (needed <= Spool.InlineLimit)
        {
            int size = _buffer?.Length ?? FirstBuffer;
            while (size < needed) size *= 2;
            size = Math.Min(size, Spool.InlineLimit);
            long extra = size - _reserved;
            if (_budget is null || _budget.TryReserve(extra))
            {
                byte[] bigger = _spool.Buffers.Rent(size);
                if (_budget is not null) _reserved += extra;
                if (_buffer is not null)
                {
                    _buffer.AsSpan(0, _buffered).CopyTo(bigger);
                    _spool.Buffers.Return(_buffer);
                }
                _buffer = bigger;
                return;
            }
        }
        ExternalPath = _spool.GetExternalBodyPath(Id);
        _file = File.OpenHandle(ExternalPath, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete);
        if (_buffered > 0)
        {
            RandomAccess.Write(_file, _buffer!.AsSpan(0, _buffered), 0);
            _crc = Crc32C.Append(_crc, _buffer.AsSpan(0, _buffered));
        }
        _fileOffset = _buffered;
        _buffered = 0;
        ReturnBuffer();
    }

    /// <summary>Gives the buffer back to the pool and its bytes back to the budget.</summary>
    private void ReturnBuffer()
    {
        if (_buffer is not null)
        {
            _spool.Buffers.Return(_buffer);
            _buffer = null;
        }
        if (_reserved > 0)
        {
            _budget!.Release(_reserved);
            _reserved = 0;
        }
    }

    public async ValueTask CommitAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Id != Id) throw new ArgumentException("The envelope's queue ID differs from the one given at begin.", nameof(envelope));
        if (Interlocked.CompareExchange(ref _state, Committing, Open) != Open)
            throw new InvalidOperationException("The message is already committed or aborted.");
        try
        {
            await _spool.CommitAsync(this, envelope with { Size = _length }).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _state, Closed);
        }
    }

    public ValueTask DisposeAsync()
    {
        int previous = Interlocked.Exchange(ref _state, Closed);
        _file?.Dispose();
        _file = null;
        ReturnBuffer();
        // Not committed: nothing of it may stay. A committed body file belongs to the spool now.
        if (previous == Open && ExternalPath is not null) Spool.TryDelete(ExternalPath);
        return default;
    }
}
