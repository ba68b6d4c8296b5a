using System.Diagnostics.Metrics;

namespace Postbote.Tracing;

/// <summary>
/// The server's instruments, on one <see cref="Meter"/> named <c>Postbote</c> (System.Diagnostics.Metrics), exported at
/// <c>/metrics</c> in the Prometheus text format; the names there are these with dots as underscores, counters ending
/// in <c>_total</c> and the histograms' unit <c>_seconds</c>. Also keeps the per-minute counts of the admin page's charts
/// (<see cref="PerMinute"/>). Every method is thread-safe and cheap enough for the per-command path.
/// </summary>
public sealed class PostboteMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Postbote";

    /// <summary>How many minutes <see cref="PerMinute"/> reaches back: 60.</summary>
    public const int Minutes = 60;

    private readonly Meter _meter;
    private readonly Counter<long> _sessions;
    private readonly Counter<long> _replies;
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _tls;
    private readonly Histogram<double> _commit;
    private readonly Histogram<double> _delivery;
    private readonly TimeProvider _time;
    private readonly long[,] _perMinute = new long[Minutes, 3];
    private readonly long[] _minuteOf = new long[Minutes];
    private readonly Lock _gate = new();
    private Func<IEnumerable<KeyValuePair<string, long>>>? _queueSize;

    /// <summary>Creates the meter and its instruments.</summary>
    /// <param name="timeProvider">The clock of the per-minute counts; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    public PostboteMetrics(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _meter = new Meter(MeterName, "1.0");
        _sessions = _meter.CreateCounter<long>("postbote.smtp.sessions", "{session}", "SMTP sessions opened");
        _replies = _meter.CreateCounter<long>("postbote.smtp.replies", "{reply}", "SMTP replies sent, by class (class=2xx, 3xx, 4xx, 5xx)");
        _accepted = _meter.CreateCounter<long>("postbote.messages.accepted", "{message}", "messages accepted (250 after the commit)");
        _refused = _meter.CreateCounter<long>("postbote.messages.refused", "{message}",
            "messages and recipients refused, by reason (reason=policy_mail, policy_rcpt, policy_data, data_fault, size, storage)");
        _attempts = _meter.CreateCounter<long>("postbote.delivery.attempts", "{attempt}",
            "delivery attempts per recipient, by result (result=delivered, deferred, failed, expired, held)");
        _tls = _meter.CreateCounter<long>("postbote.smtp.tls", "{session}", "TLS handshakes completed by SMTP sessions, by protocol");
        _commit = _meter.CreateHistogram<double>("postbote.spool.commit.duration", "s", "time from the end of the message data to the durable commit",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        _delivery = _meter.CreateHistogram<double>("postbote.delivery.duration", "s", "time from arrival to delivery, per recipient delivered",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400] });
        _meter.CreateObservableGauge("postbote.queue.size", ObserveQueue, "{recipient}",
            "recipients in the queue, by state (state=queued, deferred, held)");
    }

    /// <summary>The meter, for an exporter that wants it by instance.</summary>
    public Meter Meter => _meter;

    /// <summary>Gives the queue's size by state when the gauge is read.</summary>
    /// <param name="observe">The counts of recipients by state name; called on the exporter's thread.</param>
    public void ObserveQueueSize(Func<IEnumerable<KeyValuePair<string, long>>> observe) => _queueSize = observe;

    /// <summary>An SMTP session was opened.</summary>
    public void SessionOpened() => _sessions.Add(1);

    /// <summary>An SMTP reply was sent.</summary>
    /// <param name="code">Its code, 200–599.</param>
    public void ReplySent(int code) => _replies.Add(1, new KeyValuePair<string, object?>("class", code switch
    {
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        _ => "5xx",
    }));

    /// <summary>A TLS handshake completed.</summary>
    /// <param name="protocol">The protocol, e.g. <c>Tls13</c>.</param>
    public void TlsEstablished(string protocol) => _tls.Add(1, new KeyValuePair<string, object?>("protocol", protocol));

    /// <summary>A message was committed and answered with 250.</summary>
    /// <param name="commitSeconds">How long the commit took, in seconds.</param>
    public void MessageAccepted(double commitSeconds)
    {
        _accepted.Add(1);
        _commit.Record(commitSeconds);
        Count(0);
    }

    /// <summary>A message or a recipient was refused.</summary>
    /// <param name="reason">A short reason in snake case, e.g. <c>policy_rcpt</c>.</param>
    public void Refused(string reason) => _refused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A delivery attempt for one recipient ended.</summary>
    /// <param name="result"><c>delivered</c>, <c>deferred</c>, <c>failed</c>, <c>expired</c> or <c>held</c>.</param>
    /// <param name="sinceArrival">For a delivered recipient, the time since the message arrived.</param>
    public void DeliveryAttempted(string result, TimeSpan sinceArrival)
    {
        _attempts.Add(1, new KeyValuePair<string, object?>("result", result));
        if (result == "delivered")
        {
            _delivery.Record(Math.Max(0, sinceArrival.TotalSeconds));
            Count(1);
        }
        else if (result == "deferred") Count(2);
    }

    /// <summary>Accepted messages, delivered recipients and deferred recipients per minute, for the last
    /// <see cref="Minutes"/> minutes, the current minute last.</summary>
    /// <returns>The minutes as Unix time in minutes and their three counts.</returns>
    public IReadOnlyList<MinuteCounts> PerMinute()
    {
        long now = _time.GetUtcNow().ToUnixTimeSeconds() / 60;
        var result = new MinuteCounts[Minutes];
        lock (_gate)
        {
            for (int k = 0; k < Minutes; k++)
            {
                long minute = now - Minutes + 1 + k;
                int slot = (int)(minute % Minutes);
                bool current = _minuteOf[slot] == minute;
                result[k] = new MinuteCounts(minute, current ? _perMinute[slot, 0] : 0, current ? _perMinute[slot, 1] : 0, current ? _perMinute[slot, 2] : 0);
            }
        }
        return result;
    }

    private void Count(int which)
    {
        long minute = _time.GetUtcNow().ToUnixTimeSeconds() / 60;
        int slot = (int)(minute % Minutes);
        lock (_gate)
        {
            if (_minuteOf[slot] != minute)
            {
                _minuteOf[slot] = minute;
                _perMinute[slot, 0] = _perMinute[slot, 1] = _perMinute[slot, 2] = 0;
            }
            _perMinute[slot, which]++;
        }
    }

    private IEnumerable<Measurement<long>> ObserveQueue()
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal) { ["queued"] = 0, ["deferred"] = 0, ["held"] = 0 };
        if (_queueSize is { } observe)
        {
            foreach (var (state, count) in observe()) counts[state] = counts.GetValueOrDefault(state) + count;
        }
        return counts.Select(c => new Measurement<long>(c.Value, new KeyValuePair<string, object?>("state", c.Key)));
    }

    /// <summary>Disposes the meter.</summary>
    public void Dispose() => _meter.Dispose();
}
