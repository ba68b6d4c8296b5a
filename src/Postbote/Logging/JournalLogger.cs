using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Postbote.Host.Logging;

/// <summary>One category's logger for <see cref="JournalLoggerProvider"/>.</summary>
internal sealed class JournalLogger(string category, JournalWriter writer) : ILogger
{
    /// <summary>No scopes: every field an entry needs is in its template.</summary>
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    /// <summary>Every level but <see cref="LogLevel.None"/>; the host's filters decide before this.</summary>
    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    /// <summary>Sends one entry.</summary>
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        string message = formatter(state, exception);
        if (exception is not null) message += $" ({exception.GetType().Name}: {exception.Message})";
        string? queueId = null;
        if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            foreach (var (name, value) in values)
            {
                if (name == "QueueId" && value is not null) queueId = Convert.ToString(value, CultureInfo.InvariantCulture);
            }
        }
        writer.Send(
        [
            new("MESSAGE", message),
            new("PRIORITY", Priority(logLevel)),
            new("SYSLOG_IDENTIFIER", "postbote"),
            new("POSTBOTE_CATEGORY", category),
            new(JournalLoggerProvider.QueueIdField, queueId),
            new("POSTBOTE_EXCEPTION", exception?.ToString()),
        ]);
    }

    /// <summary>The syslog severity (RFC 5424 §6.2.1) of a level.</summary>
    private static string Priority(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => "7",
        LogLevel.Information => "6",
        LogLevel.Warning => "4",
        LogLevel.Error => "3",
        _ => "2",
    };
}
