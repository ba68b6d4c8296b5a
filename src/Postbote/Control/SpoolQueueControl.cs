using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Host.Control;

/// <summary>
/// A stand-in <see cref="IQueueControl"/> over the spool and the scheduler as they are: <c>list</c> and <c>show</c> read
/// the spool, <c>flush</c> makes every deferred message due now (<see cref="QueueScheduler.RetryNow"/>); <c>retry</c>,
/// <c>hold</c>, <c>release</c> and <c>delete</c> answer <see cref="QueueControlResult.NotApplicable"/> (or
/// <see cref="QueueControlResult.NotFound"/>) and change nothing.
/// </summary>
/// <remarks>Temporary: the queue scheduler implements <see cref="IQueueControl"/> next, with per-recipient hold and
/// per-message retry; <see cref="PostboteService"/> then hands the scheduler itself to the control socket and this file
/// goes.</remarks>
/// <param name="spool">The server's spool.</param>
/// <param name="scheduler">The server's scheduler.</param>
public sealed class SpoolQueueControl(Spool spool, QueueScheduler scheduler) : IQueueControl
{
    /// <inheritdoc />
    public IReadOnlyList<QueueEntryInfo> List() => spool.List();

    /// <inheritdoc />
    public SpoolEntry? Show(QueueId id) => spool.Read(id);

    /// <inheritdoc />
    /// <returns>The number of messages that were waiting for a retry timer.</returns>
    public int Flush()
    {
        int deferred = scheduler.DeferredCount;
        scheduler.RetryNow();
        return deferred;
    }

    /// <inheritdoc />
    public Task<QueueControlResult> RetryAsync(QueueId id, CancellationToken cancellationToken) => Task.FromResult(Unchanged(id));

    /// <inheritdoc />
    public Task<QueueControlResult> HoldAsync(QueueId id, CancellationToken cancellationToken) => Task.FromResult(Unchanged(id));

    /// <inheritdoc />
    public Task<QueueControlResult> ReleaseAsync(QueueId id, CancellationToken cancellationToken) => Task.FromResult(Unchanged(id));

    /// <inheritdoc />
    public Task<QueueControlResult> DeleteAsync(QueueId id, CancellationToken cancellationToken) => Task.FromResult(Unchanged(id));

    private QueueControlResult Unchanged(QueueId id) => spool.Read(id) is null ? QueueControlResult.NotFound : QueueControlResult.NotApplicable;
}
