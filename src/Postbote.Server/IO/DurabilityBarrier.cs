using Microsoft.Win32.SafeHandles;

namespace Postbote.IO;

/// <summary>
/// Group sync: callers that have written files ask the barrier to make them durable, and every caller that arrives
/// while a sync round runs is served by the next round, so one <c>syncfs(2)</c> (or one <c>fsync(2)</c> per distinct
/// directory) serves a whole batch. There is no timer: batches form naturally while the previous round runs.
/// Used by the Maildir agent for its data and its links or renames into <c>new/</c>, so that a message is retired from
/// the spool only once its copies are durable (RFC 5321 §6.1: "It MUST NOT lose the message for frivolous reasons,
/// such as because the host later crashes or because of a predictable resource shortage."). The spool
/// itself syncs its segment with <c>fdatasync(2)</c> (<see cref="NativeMethods.Fdatasync"/>) and needs no barrier.
/// </summary>
/// <remarks>
/// With <see cref="SyncMode.SyncFs"/> one round is one <c>syncfs</c> of the file system holding
/// <see cref="Directory"/>; it covers file data and directory entries alike. With
/// <see cref="SyncMode.FsyncEachFile"/> the caller fsyncs its own files before asking (see
/// <see cref="SyncsFileSystem"/>) and a round fsyncs each distinct directory named by the batch once.
/// </remarks>
public sealed class DurabilityBarrier : IDisposable
{
    private readonly object _lock = new();
    private readonly string _directory;
    private List<Request> _pending = new();
    private List<Request> _spare = new();
    private bool _running;
    private bool _disposed;
    private SafeFileHandle? _fsHandle;

    /// <summary>Creates a barrier for the file system that holds <paramref name="directory"/>.</summary>
    /// <param name="directory">A directory on the file system to sync; it is created if missing at the first round.</param>
    /// <param name="mode">How to sync. <see cref="SyncMode.SyncFs"/> falls back to
    /// <see cref="SyncMode.FsyncEachFile"/> where <c>syncfs(2)</c> does not exist.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    public DurabilityBarrier(string directory, SyncMode mode)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = Path.GetFullPath(directory);
        Mode = mode == SyncMode.SyncFs && !NativeMethods.HasSyncFs ? SyncMode.FsyncEachFile : mode;
    }

    /// <summary>The directory whose file system is synced.</summary>
    public string Directory => _directory;

    /// <summary>The effective mode.</summary>
    public SyncMode Mode { get; }

    /// <summary>
    /// <c>true</c> when a round writes back every file of the file system, so callers need not fsync their files;
    /// <c>false</c> when each caller must fsync its own files (e.g. <see cref="RandomAccess.FlushToDisk"/>) before
    /// <see cref="SyncAsync"/>.
    /// </summary>
    public bool SyncsFileSystem => Mode == SyncMode.SyncFs;

    /// <summary>The number of sync rounds run so far (one <c>syncfs</c>, or one set of directory fsyncs, each).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    private long _rounds;

    /// <summary>
    /// Waits until everything the caller wrote before this call is durable: the next sync round that starts after this
    /// call has returned successfully.
    /// </summary>
    /// <param name="directories">Directories whose entries (new files, renames) must be durable; used in
    /// <see cref="SyncMode.FsyncEachFile"/> mode (each distinct one is fsynced once per round), ignored with
    /// <see cref="SyncMode.SyncFs"/>. May be <c>null</c>.</param>
    /// <param name="cancellationToken">Cancels waiting; the round still runs.</param>
    /// <returns>A task that completes when the round is done.</returns>
    /// <exception cref="IOException">The sync round failed: nothing written before it can be assumed durable.</exception>
    /// <exception cref="ObjectDisposedException">The barrier is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task SyncAsync(IReadOnlyCollection<string>? directories, CancellationToken cancellationToken)
    {
        var request = new Request(directories);
        bool start;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pending.Add(request);
            start = !_running;
            _running = true;
        }
        if (start) _ = Task.Run(RunRounds, CancellationToken.None);
        return cancellationToken.CanBeCanceled ? request.Completion.Task.WaitAsync(cancellationToken) : request.Completion.Task;
    }

    /// <summary>Closes the file system handle; pending requests still complete.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            if (_running) return; // the round loop closes the handle when it ends
        }
        _fsHandle?.Dispose();
    }

    private void RunRounds()
    {
        while (true)
        {
            List<Request> batch;
            lock (_lock)
            {
                if (_pending.Count == 0)
                {
                    _running = false;
                    if (_disposed) _fsHandle?.Dispose();
                    return;
                }
                batch = _pending;
                _pending = _spare;
                _spare = batch;
            }
            RunRound(batch);
            batch.Clear();
        }
    }

    private void RunRound(List<Request> batch)
    {
        Interlocked.Increment(ref _rounds);
        if (Mode == SyncMode.SyncFs)
        {
            Exception? error = null;
            try
            {
                _fsHandle ??= OpenFileSystemHandle();
                NativeMethods.SyncFs(_fsHandle, _directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = e as IOException ?? new IOException(e.Message, e);
            }
            foreach (Request r in batch)
            {
                if (error is null) r.Completion.TrySetResult();
                else r.Completion.TrySetException(error);
            }
            return;
        }

        // FsyncEachFile: the files are synced by their writers; fsync each distinct directory once.
        Dictionary<string, IOException?>? results = null;
        foreach (Request r in batch)
        {
            if (r.Directories is null) continue;
            foreach (string dir in r.Directories)
            {
                results ??= new Dictionary<string, IOException?>(StringComparer.Ordinal);
                if (results.ContainsKey(dir)) continue;
                IOException? error = null;
                try
                {
                    NativeMethods.FsyncDirectory(dir);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    error = e as IOException ?? new IOException(e.Message, e);
                }
                results[dir] = error;
            }
        }
        foreach (Request r in batch)
        {
            IOException? error = null;
            if (r.Directories is not null && results is not null)
            {
                foreach (string dir in r.Directories)
                {
                    if (results[dir] is { } e) { error = e; break; }
                }
            }
            if (error is null) r.Completion.TrySetResult();
            else r.Completion.TrySetException(error);
        }
    }

    private SafeFileHandle OpenFileSystemHandle()
    {
        System.IO.Directory.CreateDirectory(_directory);
        return NativeMethods.OpenDirectory(_directory);
    }

    private sealed class Request(IReadOnlyCollection<string>? directories)
    {
        public IReadOnlyCollection<string>? Directories { get; } = directories;
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
