using Microsoft.Extensions.Logging;
using Postbote.Core;

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
            SpoolEntry before = m.Entry;
            var recipients = before.Envelope.Recipients.ToArray();
            var states = before.States.ToArray();
            int held = 0;
            for (int i = 0; i < recipients.Length; i++)
            {
                if (recipients[i].Status is not (DeliveryStatus.Queued or DeliveryStatus.Deferred) || m.Attempting.Contains(i)) continue;
                recipients[i] = recipients[i] with { Status = DeliveryStatus.Held };
                states[i] = states[i] with { NextAttemptAt = null };
                held++;
            }
            if (held == 0 && m.Attempting.Count == 0)
            {
                _logger.LogInformation("{QueueId}: hold: nothing pending", id);
                return QueueControlResult.NotApplicable;
            }
            var updated = before with { Envelope = before.Envelope with { Recipients = recipients }, States = states };
            if (held > 0)
            {
                await _spool.SaveAsync(updated, cancellationToken).ConfigureAwait(false);
                updated = Relocated(updated);
            }
            m.Entry = updated;
            m.HoldRequested = true;
            ArmTimer(m);
            _logger.LogInformation("{QueueId}: held ({Held} recipients; {InFlight} in an attempt now are held when it ends)", id, held, m.Attempting.Count);
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
            SpoolEntry before = m.Entry;
            var recipients = before.Envelope.Recipients.ToArray();
            var states = before.States.ToArray();
            int released = 0;
            for (int i = 0; i < recipients.Length; i++)
            {
                if (recipients[i].Status != DeliveryStatus.Held) continue;
                recipients[i] = recipients[i] with { Status = DeliveryStatus.Queued };
                states[i] = states[i] with { NextAttemptAt = null };
                released++;
            }
            if (released == 0 && !m.HoldRequested)
            {
                _logger.LogInformation("{QueueId}: release: not held", id);
                return QueueControlResult.NotApplicable;
            }
            var updated = before with { Envelope = before.Envelope with { Recipients = recipients }, States = states };
            if (released > 0)
            {
                await _spool.SaveAsync(updated, cancellationToken).ConfigureAwait(false);
                updated = Relocated(updated);
            }
            m.Entry = updated;
            m.HoldRequested = false;
            _work.Writer.TryWrite(m);
            _logger.LogInformation("{QueueId}: released ({Released} recipients due now)", id, released);
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
        m.Deleted?.TrySetResult();
    }

    private static bool HasDeferred(SpoolEntry entry)
    {
        foreach (Recipient r in entry.Envelope.Recipients)
        {
            if (r.Status is DeliveryStatus.Deferred or DeliveryStatus.Queued) return true;
        }
        return false;
    }
}
