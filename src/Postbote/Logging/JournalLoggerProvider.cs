using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Postbote.Host.Logging;

/// <summary>
/// Logs to the systemd journal through a <see cref="JournalWriter"/>: MESSAGE, PRIORITY (syslog severity, RFC 5424
/// §6.2.1: 7 debug … 2 critical), SYSLOG_IDENTIFIER <c>postbote</c>, POSTBOTE_CATEGORY (the logger's category) and, for
/// every entry about one message, QUEUE_ID (the <c>{QueueId}</c> of the message template), so that
/// <c>journalctl QUEUE_ID=…</c> shows the life of one message. An exception adds its type and message to MESSAGE, and the
/// stack trace as POSTBOTE_EXCEPTION.
/// </summary>
public sealed class JournalLoggerProvider : ILoggerProvider
{
    /// <summary>The journal field that carries the queue ID.</summary>
    public const string QueueIdField = "QUEUE_ID";

    private readonly JournalWriter _writer;
    private readonly ConcurrentDictionary<string, JournalLogger> _loggers = new(StringComparer.Ordinal);

    /// <summary>Creates the provider.</summary>
    /// <param name="writer">The journal; disposed with the provider.</param>
    public JournalLoggerProvider(JournalWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
    }

    /// <summary>The logger for a category.</summary>
    /// <param name="categoryName">The category, e.g. <c>Postbote.Queue.QueueScheduler</c>.</param>
    /// <returns>The logger.</returns>
    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, name => new JournalLogger(name, _writer));

    /// <summary>Closes the journal socket.</summary>
    public void Dispose() => _writer.Dispose();
}
