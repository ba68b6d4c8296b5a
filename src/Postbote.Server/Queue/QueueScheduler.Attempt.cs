using System.Globalization;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Tracing;

namespace Postbote.Queue;

public sealed partial class QueueScheduler
{
    /// <summary>
    /// One delivery attempt of some recipients of a message to one destination: calls the agent, then, under the
    /// message's gate, applies the results to the latest entry, records it in the spool, and only then tells the
    /// notifier.
    /// </summary>
    private async Task AttemptAsync(QueuedMessage message, DestinationQueue? destination, SpoolEntry entry, List<int> indices, bool retry)
    {
        Envelope envelope = entry.Envelope;
        var attempt = new Recipient[indices.Count];
        for (int k = 0; k < attempt.Length; k++) attempt[k] = envelope.Recipients[indices[k]];
        var request = new DeliveryRequest(envelope, entry.BodyPath, attempt, retry) { BodyOffset = entry.BodyOffset };
        IReadOnlyList<RecipientResult>? results = null;
        DeliveryNotice? notice = null;
        try
        {
            try
            {
                results = await _agent.DeliverAsync(request, _abort.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_abort.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "{QueueId}: the delivery agent failed; every recipient of the attempt is deferred", envelope.Id);
            }
            var outcomes = new RecipientResult[indices.Count];
            for (int k = 0; k < outcomes.Length; k++)
            {
                outcomes[k] = results is not null && k < results.Count && results[k] is { } r
                    ? r
                    : RecipientResult.Temporary(results is null ? "delivery agent error" : "no result from the delivery agent");
            }
            DateTimeOffset? throttledUntil = destination is null ? null : CountDestinationOutcome(destination, outcomes);

            await message.Gate.WaitAsync().ConfigureAwait(false);
            try
            {
                notice = await RecordAsync(message, indices, outcomes, throttledUntil).ConfigureAwait(false);
            }
            finally
            {
                message.Gate.Release();
            }
        }
        finally
        {
            if (results is null && _abort.IsCancellationRequested)
            {
                await message.Gate.WaitAsync().ConfigureAwait(false);
                message.Attempting.ExceptWith(indices);
                message.Gate.Release();
            }
            if (destination is not null) ReleaseSlot(destination);
        }
        if (notice is not null) await NotifyAsync(notice).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies an attempt's outcomes to the message's latest entry and records it (called under the gate). A recipient
    /// that failed temporarily after the message's lifetime fails for good with its last reply; one older than the delay
    /// warning time gets one delay notice. A recipient the destination throttled is tried again at
    /// <paramref name="throttledUntil"/>, the destination's spacing, instead of after the retry backoff. Returns the notice
    /// to send once the record is durable, or <c>null</c>.
    /// </summary>
    private async Task<DeliveryNotice?> RecordAsync(QueuedMessage message, List<int> indices, RecipientResult[] outcomes, DateTimeOffset? throttledUntil = null)
    {
        message.Attempting.ExceptWith(indices);
        SpoolEntry before = message.Entry;
        Envelope envelope = before.Envelope;
        DateTimeOffset now = _time.GetUtcNow();
        TimeSpan age = now - envelope.ReceivedAt;
        bool log = _logger.IsEnabled(LogLevel.Information);
        var recipients = envelope.Recipients.ToArray();
        var states = before.States.ToArray();
        var notices = new List<NoticeRecipient>();
        for (int k = 0; k < indices.Count; k++)
        {
            int i = indices[k];
            RecipientResult result = outcomes[k];
            RecipientQueueState state = states[i].WithReply(result.Reply) with
            {
                Attempts = states[i].Attempts + 1,
                NextAttemptAt = null,
                LastAttemptAt = now,
                RemoteHost = result.RemoteHost,
            };
            string status;
            switch (result.Outcome)
            {
                case DeliveryOutcome.Delivered:
                    recipients[i] = recipients[i] with { Status = DeliveryStatus.Delivered };
                    state = state with { Handover = result.Handover };
                    status = "sent";
                    if (result.Handover != DeliveryHandover.RelayedWithDsn)
                    {
                        notices.Add(new NoticeRecipient(i, result.Handover == DeliveryHandover.Final ? DsnAction.Delivered : DsnAction.Relayed));
                    }
                    break;
                case DeliveryOutcome.PermanentFailure:
                    recipients[i] = recipients[i] with { Status = DeliveryStatus.Failed };
                    status = "bounced";
                    notices.Add(new NoticeRecipient(i, DsnAction.Failed));
                    break;
                default:
                    if (age >= _options.MaxLifetime)
                    {
                        // Expired: the DSN side reports X.4.7 ("delivery time expired", RFC 3463 §3.5) with this reply.
                        recipients[i] = recipients[i] with { Status = DeliveryStatus.Failed };
                        status = "expired";
                        notices.Add(new NoticeRecipient(i, DsnAction.Failed));
                    }
                    else if (message.HoldRequested)
                    {
                        recipients[i] = recipients[i] with { Status = DeliveryStatus.Held };
                        status = "held";
                    }
                    else
                    {
                        recipients[i] = recipients[i] with { Status = DeliveryStatus.Deferred };
                        DateTimeOffset next = result.Throttled && throttledUntil is { } until ? until : now + Backoff(state.Attempts);
                        state = state with { NextAttemptAt = next };
                        status = "deferred";
                        if (_options.DelayWarningTime > TimeSpan.Zero && age >= _options.DelayWarningTime && !state.DelayNotified)
                        {
                            state = state with { DelayNotified = true };
                            notices.Add(new NoticeRecipient(i, DsnAction.Delayed));
                        }
                    }
                    break;
            }
            states[i] = state;
            string traced = status switch { "sent" => "delivered", "bounced" => "failed", _ => status };
            _metrics?.DeliveryAttempted(traced, age);
            _events.Record(envelope.Id, new MessageEvent(now, MessageEventKind.Attempt)
            {
                Recipients = [recipients[i].Address.ToString()],
                Result = traced,
                Host = result.RemoteHost ?? "none",
                Tls = result.Tls,
                Reply = state.LastReply,
                Attempt = state.Attempts,
                Seconds = Math.Round(age.TotalSeconds, 3),
            });
            if (log)
            {
                _logger.LogInformation("{QueueId}: to=<{Recipient}>, relay={Relay}, delay={Delay}, attempts={Attempts}, status={Status} ({Reply})",
                    envelope.Id, recipients[i].Address, result.RemoteHost ?? "none", age.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture),
                    state.Attempts, status, state.LastReply);
            }
        }

        var updated = before with { Envelope = envelope with { Recipients = recipients }, States = states };
        if (message.DeleteRequested)
        {
            if (message.Attempting.Count == 0) await DeleteNowAsync(message).ConfigureAwait(false);
            return null;
        }
        if (Spool.IsFinal(updated))
        {
            // The body must still be readable while the notice is built (RET=FULL), so the notice goes first and the
            // "done" record after it. A crash between the two delivers the message again, and the agents recognise
            // their copies.
            if (notices.Count > 0 && _notifier is not null) await NotifyAsync(new DeliveryNotice(updated, notices, now)).ConfigureAwait(false);
            // Not waited for: the "done" record goes with the next batch, and the delivery slot is free meanwhile.
            _ = RetireAsync(message, updated);
            return null;
        }
        try
        {
            await _spool.SaveAsync(updated, CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            // The previous record stays and so does the previous state in memory; the attempt is repeated after the
            // first retry interval (or at the next start), and the agents recognise copies they already delivered.
            _logger.LogError(e, "{QueueId}: cannot record the delivery state", envelope.Id);
            var kept = before.States.ToArray();
            foreach (int i in indices) kept[i] = kept[i] with { NextAttemptAt = now + Backoff(1) };
            message.Entry = before with { States = kept };
            ArmTimer(message);
            return null;
        }
        updated = Relocated(updated);
        message.Entry = updated;
        ArmTimer(message);
        return notices.Count > 0 ? new DeliveryNotice(updated, notices, now) : null;
    }

    /// <summary>Tells the notifier; its failure is logged and changes nothing (the outcome is already recorded).</summary>
    private async Task NotifyAsync(DeliveryNotice notice)
    {
        if (_notifier is null) return;
        try
        {
            await _notifier.NotifyAsync(notice, _abort.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            _logger.LogWarning("{QueueId}: notice not sent: the queue is stopping", notice.Entry.Envelope.Id);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "{QueueId}: the delivery notice failed ({Actions}); the delivery outcome stays recorded",
                notice.Entry.Envelope.Id, string.Join(", ", notice.Recipients.Select(r => r.Action)));
        }
    }
}
