using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Tracing;

namespace Postbote.Queue;

public sealed partial class QueueScheduler
{
    /// <inheritdoc />
    public IReadOnlyList<QueueEntryInfo> List()
    {
        var list = new List<QueueEntryInfo>(_messages.Count);
        foreach (QueuedMessage m in _messages.Values)
        {
            if (m.Retired) continue;
            SpoolEntry entry = m.Entry;
            Envelope e = entry.Envelope;
            list.Add(new QueueEntryInfo(e.Id, e.ReceivedAt, e.Size, e.ReversePathText, e.Recipients, entry.States));
        }
        return list;
    }

    /// <inheritdoc />
    public SpoolEntry? Show(QueueId id) => _messages.TryGetValue(id, out QueuedMessage? m) && !m.Retired ? m.Entry : null;

    /// <inheritdoc />
    public int Flush()
    {
        int count = 0;
        foreach (QueuedMessage m in _messages.Values)
        {
            if (!HasDeferred(m.Entry)) continue;
            m.ForceDue = true;
            if (_work.Writer.TryWrite(m)) count++;
        }
        _logger.LogInformation("Queue flush: {Count} messages with deferred recipients made due now", count);
        return count;
    }

    /// <inheritdoc />
    public Task<QueueControlResult> RetryAsync(QueueId id, CancellationToken cancellationToken)
    {
        if (!_messages.TryGetValue(id, out QueuedMessage? m) || m.Retired) return Task.FromResult(QueueControlResult.NotFound);
        if (!HasDeferred(m.Entry))
        {
            _logger.LogInformation("{QueueId}: retry: nothing deferred", id);
            return Task.FromResult(QueueControlResult.NotApplicable);
        }
        m.ForceDue = true;
        _work.Writer.TryWrite(m);
        _logger.LogInformation("{QueueId}: retry: deferred recipients are due now", id);
        Traced(id, "retry");
        return Task.FromResult(QueueControlResult.Done);
    }

    /// <inheritdoc />
    public async Task<QueueControlResult> HoldAsync(QueueId id, CancellationToken cancellationToken)
    {
        if (!_messages.TryGetValue(id, out QueuedMessage? m)) return QueueControlResult.NotFound;
        await m.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (m.Retired || m.DeleteRequested) return QueueControlResult.NotFound;
            var (updated, held) = Restate(m.Entry, (i, r) => r.Status is DeliveryStatus.Queued or DeliveryStatus.Deferred && !m.Attempting.Contains(i),
                DeliveryStatus.Held);
            if (held == 0 && m.Attempting.Count == 0)
            {
                _logger.LogInformation("{QueueId}: hold: nothing pending", id);
                return QueueControlResult.NotApplicable;
            }
            m.Entry = await SaveRestatedAsync(updated, held, cancellationToken).ConfigureAwait(false);
            m.HoldRequested = true;
            ArmTimer(m);
            _logger.LogInformation("{QueueId}: held ({Held} recipients; {InFlight} in an attempt now are held when it ends)", id, held, m.Attempting.Count);
            Traced(id, "hold");
            return QueueControlResult.Done;
        }
        finally
        {
            m.Gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<QueueControlResult> ReleaseAsync(QueueId id, CancellationToken cancellationToken)
    {
        if (!_messages.TryGetValue(id, out QueuedMessage? m)) return QueueControlResult.NotFound;
        await m.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (m.Retired || m.DeleteRequested) return QueueControlResult.NotFound;
            var (updated, released) = Restate(m.Entry, (_, r) => r.Status == DeliveryStatus.Held, DeliveryStatus.Queued);
            if (released == 0 && !m.HoldRequested)
            {
                _logger.LogInformation("{QueueId}: release: not held", id);
                return QueueControlResult.NotApplicable;
            }
            m.Entry = await SaveRestatedAsync(updated, released, cancellationToken).ConfigureAwait(false);
            m.HoldRequested = false;
            _work.Writer.TryWrite(m);
            _logger.LogInformation("{QueueId}: released ({Released} recipients due now)", id, released);
            Traced(id, "release");
            return QueueControlResult.Done;
        }
        finally
        {
            m.Gate.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>A message in an attempt now is retired when that attempt ends (its outcome is not recorded and no notice
    /// is sent); this waits for it.</remarks>
    public async Task<QueueControlResult> DeleteAsync(QueueId id, CancellationToken cancellationToken)
    {
        if (!_messages.TryGetValue(id, out QueuedMessage? m)) return QueueControlResult.NotFound;
        Task wait;
        await m.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (m.Retired) return QueueControlResult.NotFound;
            if (m.Attempting.Count == 0)
            {
                await DeleteNowAsync(m).ConfigureAwait(false);
                return QueueControlResult.Done;
            }
            m.DeleteRequested = true;
            m.Deleted ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = m.Deleted.Task;
            _logger.LogInformation("{QueueId}: delete: waiting for the attempt in progress to end", id);
        }
        finally
        {
            m.Gate.Release();
        }
        await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        return QueueControlResult.Done;
    }

    /// <summary>Retires the message with a synced "done" record, without delivery or notice (called under the gate).</summary>
    /// <exception cref="IOException">The spool closed before the record was written; the message stays queued.</exception>
    private async Task DeleteNowAsync(QueuedMessage m)
    {
        QueueId id = m.Entry.Envelope.Id;
        try
        {
            await _spool.RemoveAsync(id, CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            m.Deleted?.TrySetException(e);
            throw;
        }
        m.Retired = true;
        Forget(m);
        _logger.LogInformation("{QueueId}: deleted by the administrator: removed without delivery or notice", id);
        Traced(id, "delete");
        _events.Record(id, new MessageEvent(_time.GetUtcNow(), MessageEventKind.Removed) { Reason = "deleted by the administrator" });
        m.Deleted?.TrySetResult();
    }

    private void Traced(QueueId id, string action) =>
        _events.Record(id, new MessageEvent(_time.GetUtcNow(), MessageEventKind.QueueAction) { Action = action });

    private static bool HasDeferred(SpoolEntry entry)
    {
        foreach (Recipient r in entry.Envelope.Recipients)
        {
            if (r.Status is DeliveryStatus.Deferred or DeliveryStatus.Queued) return true;
        }
        return false;
    }

    /// <summary>The entry with every recipient that <paramref name="pick"/> selects (by index and recipient) set to
    /// <paramref name="status"/>, its next attempt time cleared; and how many were changed.</summary>
    private static (SpoolEntry Entry, int Changed) Restate(SpoolEntry entry, Func<int, Recipient, bool> pick, DeliveryStatus status)
    {
        var recipients = entry.Envelope.Recipients.ToArray();
        var states = entry.States.ToArray();
        int changed = 0;
        for (int i = 0; i < recipients.Length; i++)
        {
            if (!pick(i, recipients[i])) continue;
            recipients[i] = recipients[i] with { Status = status };
            states[i] = states[i] with { NextAttemptAt = null };
            changed++;
        }
        return (entry with { Envelope = entry.Envelope with { Recipients = recipients }, States = states }, changed);
    }

    /// <summary>Records a restated entry durably when anything changed, and gives the entry as it now stands in the spool.</summary>
    private async Task<SpoolEntry> SaveRestatedAsync(SpoolEntry updated, int changed, CancellationToken cancellationToken)
    {
        if (changed == 0) return updated;
        await _spool.SaveAsync(updated, cancellationToken).ConfigureAwait(false);
        return Relocated(updated);
    }
}
