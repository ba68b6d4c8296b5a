using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// The spool: where received messages are committed and where they wait until every recipient is delivered or failed.
/// Each message is two files in <see cref="SpoolOptions.Directory"/>: the body <c>&lt;id&gt;.eml</c>, exactly as
/// written, and the envelope <c>&lt;id&gt;.env</c>, written after the body and ending in a checksum trailer. The envelope
/// file is the commit marker: a message without a valid one was never committed (RFC 5321 §6.1: once the 250 is sent
/// "the receiver-SMTP MUST NOT lose the message").
/// </summary>
/// <remarks>
/// Commits are grouped: each commit writes its files without a sync of its own, then waits for the next round of a
/// shared <see cref="DurabilityBarrier"/>, so one <c>syncfs(2)</c> serves every commit that arrived meanwhile. Durable
/// commits are handed to delivery through <see cref="Committed"/>. Listing (<see cref="List"/>) only reads files and is
/// safe from another process while a server runs.
/// </remarks>
public sealed class Spool : IMessageSink, IDisposable
{
    /// <summary>The body bytes a writer keeps in memory before it creates the body file: 65,536 bytes.</summary>
    public const int BufferSize = 64 * 1024;

    private const string BodyExtension = ".eml";
    private const string EnvelopeExtension = ".env";
    private const string TempExtension = ".tmp";

    private readonly string _directory;
    private readonly string _corruptDirectory;
    private readonly string[] _directoryList;
    private readonly DurabilityBarrier _barrier;
    private readonly ILogger<Spool> _logger;
    private readonly Channel<SpoolEntry> _committed =
        Channel.CreateUnbounded<SpoolEntry>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private volatile bool _directoryReady;
    private int _begun;
    private int _recovering;

    /// <summary>Creates the spool. Nothing is touched on disk until the first write or <see cref="RecoverAsync"/>.</summary>
    /// <param name="options">Directories and sync mode.</param>
    /// <param name="logger">Where recovery and failures are logged.</param>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="SpoolOptions.Validate"/>).</exception>
    public Spool(SpoolOptions options, ILogger<Spool> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _directory = Path.GetFullPath(options.Directory);
        _corruptDirectory = Path.GetFullPath(options.CorruptDirectory);
        _directoryList = [_directory];
        _barrier = new DurabilityBarrier(_directory, options.SyncMode);
        _logger = logger;
    }

    /// <summary>The full path of the spool directory.</summary>
    public string Directory => _directory;

    /// <summary>The effective sync mode (<see cref="SpoolSyncMode.SyncFs"/> falls back where it does not exist).</summary>
    public SpoolSyncMode SyncMode => _barrier.Mode;

    /// <summary>The number of group-commit sync rounds run so far.</summary>
    public long SyncRounds => _barrier.Rounds;

    /// <summary>Messages ready for delivery: each durable commit, then each entry found by <see cref="RecoverAsync"/>.
    /// Read by the scheduler; completed by <see cref="Dispose"/>.</summary>
    public ChannelReader<SpoolEntry> Committed => _committed.Reader;

    /// <summary>The full path of the body file of a message.</summary>
    /// <param name="id">The queue ID.</param>
    /// <returns><c>{Directory}/&lt;id&gt;.eml</c>.</returns>
    public string GetBodyPath(QueueId id) => Path.Combine(_directory, id.Value + BodyExtension);

    /// <summary>The full path of the envelope file of a message.</summary>
    /// <param name="id">The queue ID.</param>
    /// <returns><c>{Directory}/&lt;id&gt;.env</c>.</returns>
    public string GetEnvelopePath(QueueId id) => Path.Combine(_directory, id.Value + EnvelopeExtension);

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="id"/> is not a well-formed queue ID.</exception>
    public ValueTask<IMessageWriter> BeginAsync(QueueId id, CancellationToken cancellationToken)
    {
        if (id.Value is null || !QueueId.IsValid(id.Value)) throw new ArgumentException("Not a queue ID.", nameof(id));
        cancellationToken.ThrowIfCancellationRequested();
        Volatile.Write(ref _begun, 1);
        EnsureDirectory();
        return new ValueTask<IMessageWriter>(new SpoolWriter(this, id, GetBodyPath(id)));
    }

    /// <summary>
    /// Scans the spool at start-up: every committed entry is handed to delivery through <see cref="Committed"/>, marked
    /// recovered; uncommitted leftovers (an envelope with a torn trailer, a body without envelope, temporary files) are
    /// deleted; entries that cannot be read, or whose body is missing or shorter than the envelope's size, are moved to
    /// <see cref="SpoolOptions.CorruptDirectory"/> and never retried.
    /// </summary>
    /// <remarks>Run it once, before the first <see cref="BeginAsync"/>: a message being received has a body without an
    /// envelope yet, which the scan would take for a leftover.</remarks>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>The number of entries handed to delivery.</returns>
    /// <exception cref="IOException">The spool directory cannot be read.</exception>
    /// <exception cref="InvalidOperationException">A message was already begun on this spool, or recovery already ran.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _begun) != 0) throw new InvalidOperationException("Recovery must run before the first message is begun.");
        if (Interlocked.Exchange(ref _recovering, 1) != 0) throw new InvalidOperationException("Recovery already ran.");
        return Task.Run(() => Recover(cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Lists the committed messages by reading their envelope files, in queue ID (arrival) order. Entries being written
    /// or torn are skipped. Only reads; safe from another process while a server runs.
    /// </summary>
    /// <returns>The entries; empty when the spool directory does not exist.</returns>
    /// <exception cref="IOException">The spool directory cannot be read.</exception>
    public IReadOnlyList<QueueEntryInfo> List()
    {
        var list = new List<QueueEntryInfo>();
        if (!System.IO.Directory.Exists(_directory)) return list;
        foreach (string path in System.IO.Directory.EnumerateFiles(_directory, "*" + EnvelopeExtension))
        {
            if (!TryGetId(path, EnvelopeExtension, out QueueId id)) continue;
            SpoolEntry? entry = TryRead(path, id, isRecovered: false);
            if (entry is null) continue;
            Envelope e = entry.Envelope;
            list.Add(new QueueEntryInfo(e.Id, e.ReceivedAt, e.Size, e.ReversePathText, e.Recipients, entry.States));
        }
        list.Sort(static (a, b) => string.CompareOrdinal(a.Id.Value, b.Id.Value));
        return list;
    }

    /// <summary>Reads one committed entry, for <c>postbote queue show</c>.</summary>
    /// <param name="id">The queue ID.</param>
    /// <returns>The entry, or <c>null</c> when there is no committed entry with that ID.</returns>
    public SpoolEntry? Read(QueueId id) => TryRead(GetEnvelopePath(id), id, isRecovered: false);

    /// <summary>
    /// Records the outcome of a delivery attempt. When every recipient is <see cref="DeliveryStatus.Delivered"/> or
    /// <see cref="DeliveryStatus.Failed"/>, the entry is removed (envelope first, then body). Otherwise the envelope is
    /// replaced atomically: written to <c>&lt;id&gt;.env.tmp</c>, synced, renamed over <c>&lt;id&gt;.env</c>, and the
    /// directory synced.
    /// </summary>
    /// <param name="entry">The entry with its new recipient statuses and queue states.</param>
    /// <param name="cancellationToken">Cancels waiting for the sync; the file may still be replaced.</param>
    /// <returns><c>true</c> when the entry was removed, <c>false</c> when it stays queued.</returns>
    /// <exception cref="IOException">The envelope could not be replaced; the previous one is still in place.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<bool> SaveAsync(SpoolEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Envelope envelope = entry.Envelope;
        string envelopePath = GetEnvelopePath(envelope.Id);
        bool final = true;
        foreach (Recipient r in envelope.Recipients)
        {
            if (r.Status is not (DeliveryStatus.Delivered or DeliveryStatus.Failed)) { final = false; break; }
        }
        if (final)
        {
            try
            {
                File.Delete(envelopePath);
                File.Delete(GetBodyPath(envelope.Id));
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException(e.Message, e);
            }
            return true;
        }

        string tempPath = envelopePath + TempExtension;
        try
        {
            using (var content = new PooledBufferWriter(1024))
            {
                EnvelopeFile.Write(content, envelope, entry.States);
                using var handle = File.OpenHandle(tempPath, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Delete);
                RandomAccess.Write(handle, content.WrittenSpan, 0);
                if (!_barrier.SyncsFileSystem) RandomAccess.FlushToDisk(handle);
            }
            if (_barrier.SyncsFileSystem) await _barrier.SyncAsync(null, cancellationToken).ConfigureAwait(false);
            File.Move(tempPath, envelopePath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            TryDelete(tempPath);
            if (e is OperationCanceledException) throw;
            throw e as IOException ?? new IOException(e.Message, e);
        }
        await _barrier.SyncAsync(_directoryList, cancellationToken).ConfigureAwait(false);
        return false;
    }

    /// <summary>Completes <see cref="Committed"/> and releases the sync handle.</summary>
    public void Dispose()
    {
        _committed.Writer.TryComplete();
        _barrier.Dispose();
    }

    /// <summary>The commit of one writer: finish the body, write the envelope, wait for the group sync, hand over.</summary>
    internal async Task CommitAsync(SpoolWriter writer, Envelope envelope)
    {
        string envelopePath = GetEnvelopePath(envelope.Id);
        bool perFile = !_barrier.SyncsFileSystem;
        var states = new RecipientQueueState[envelope.Recipients.Count];
        try
        {
            try
            {
                writer.FinishBody(perFile);
                using var content = new PooledBufferWriter(1024);
                EnvelopeFile.Write(content, envelope, states);
                using var handle = File.OpenHandle(envelopePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete);
                RandomAccess.Write(handle, content.WrittenSpan, 0);
                if (perFile) RandomAccess.FlushToDisk(handle);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException(e.Message, e);
            }
            await _barrier.SyncAsync(_directoryList, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            TryDelete(envelopePath);
            TryDelete(writer.BodyPath);
            _logger.LogError(e, "{QueueId}: commit failed", envelope.Id);
            throw e as IOException ?? new IOException("The commit failed: " + e.Message, e);
        }
        finally
        {
            writer.MarkClosed();
        }
        _committed.Writer.TryWrite(new SpoolEntry(envelope, states, writer.BodyPath, IsRecovered: false));
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: recovery removes what is left.
        }
    }

    private void EnsureDirectory()
    {
        if (_directoryReady) return;
        try
        {
            System.IO.Directory.CreateDirectory(_directory);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException(e.Message, e);
        }
        _directoryReady = true;
    }

    private int Recover(CancellationToken cancellationToken)
    {
        EnsureDirectory();
        var envelopes = new List<(QueueId Id, string Path)>();
        var bodies = new HashSet<string>(StringComparer.Ordinal);
        foreach (string path in System.IO.Directory.EnumerateFiles(_directory))
        {
            string name = Path.GetFileName(path);
            if (name.EndsWith(TempExtension, StringComparison.Ordinal))
            {
                _logger.LogInformation("Spool recovery: removing stale temporary file {File}", name);
                TryDelete(path);
            }
            else if (TryGetId(path, EnvelopeExtension, out QueueId id))
            {
                envelopes.Add((id, path));
            }
            else if (TryGetId(path, BodyExtension, out _))
            {
                bodies.Add(path);
            }
        }
        envelopes.Sort(static (a, b) => string.CompareOrdinal(a.Id.Value, b.Id.Value));

        int recovered = 0;
        foreach ((QueueId id, string envelopePath) in envelopes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string bodyPath = GetBodyPath(id);
            bodies.Remove(bodyPath);
            byte[] content;
            try
            {
                content = File.ReadAllBytes(envelopePath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                MoveToCorrupt(id, envelopePath, bodyPath, "the envelope file cannot be read: " + e.Message);
                continue;
            }
            if (!EnvelopeFile.TryVerify(content, out ReadOnlySpan<byte> json))
            {
                _logger.LogInformation("{QueueId}: envelope never committed (no valid trailer), removing the entry", id);
                TryDelete(envelopePath);
                TryDelete(bodyPath);
                continue;
            }
            SpoolEntry entry;
            try
            {
                entry = EnvelopeFile.Parse(json, bodyPath, isRecovered: true);
                if (entry.Envelope.Id != id) throw new FormatException("The envelope names queue ID " + entry.Envelope.Id + ".");
            }
            catch (FormatException e)
            {
                MoveToCorrupt(id, envelopePath, bodyPath, e.Message);
                continue;
            }
            long bodyLength;
            try
            {
                var info = new FileInfo(bodyPath);
                bodyLength = info.Exists ? info.Length : -1;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                bodyLength = -1;
            }
            if (bodyLength < entry.Envelope.Size)
            {
                MoveToCorrupt(id, envelopePath, bodyPath, bodyLength < 0
                    ? "the body file is missing"
                    : $"the body file has {bodyLength} bytes, the envelope says {entry.Envelope.Size}");
                continue;
            }
            bool final = true;
            foreach (Recipient r in entry.Envelope.Recipients)
            {
                if (r.Status is not (DeliveryStatus.Delivered or DeliveryStatus.Failed)) { final = false; break; }
            }
            if (final)
            {
                _logger.LogInformation("{QueueId}: every recipient is final, removing the entry", id);
                TryDelete(envelopePath);
                TryDelete(bodyPath);
                continue;
            }
            _committed.Writer.TryWrite(entry);
            recovered++;
        }
        foreach (string orphan in bodies)
        {
            _logger.LogInformation("Spool recovery: removing body {File} that was never committed", Path.GetFileName(orphan));
            TryDelete(orphan);
        }
        if (recovered > 0) _logger.LogInformation("Spool recovery: {Count} queued messages", recovered);
        return recovered;
    }

    private void MoveToCorrupt(QueueId id, string envelopePath, string bodyPath, string reason)
    {
        _logger.LogWarning("{QueueId}: moving the entry to {CorruptDirectory}: {Reason}", id, _corruptDirectory, reason);
        try
        {
            System.IO.Directory.CreateDirectory(_corruptDirectory);
            File.Move(envelopePath, Path.Combine(_corruptDirectory, Path.GetFileName(envelopePath)), overwrite: true);
            if (File.Exists(bodyPath)) File.Move(bodyPath, Path.Combine(_corruptDirectory, Path.GetFileName(bodyPath)), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Never retry a corrupt entry in a loop: if it cannot be moved, remove it so the next start does not see it.
            _logger.LogError(e, "{QueueId}: cannot move the corrupt entry, removing it", id);
            TryDelete(envelopePath);
            TryDelete(bodyPath);
        }
    }

    private SpoolEntry? TryRead(string envelopePath, QueueId id, bool isRecovered)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(envelopePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (!EnvelopeFile.TryVerify(content, out ReadOnlySpan<byte> json)) return null;
        try
        {
            SpoolEntry entry = EnvelopeFile.Parse(json, GetBodyPath(id), isRecovered);
            return entry.Envelope.Id == id ? entry : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static bool TryGetId(string path, string extension, out QueueId id)
    {
        ReadOnlySpan<char> name = Path.GetFileName(path.AsSpan());
        id = default;
        if (!name.EndsWith(extension, StringComparison.Ordinal)) return false;
        ReadOnlySpan<char> stem = name[..^extension.Length];
        if (!QueueId.IsValid(stem)) return false;
        id = new QueueId(stem.ToString());
        return true;
    }
}
