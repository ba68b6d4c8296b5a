using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Postbote.Host.Logging;

/// <summary>
/// One line per log entry: <c>2025-01-31T12:00:00.000Z info Postbote.Smtp [session 7]: message</c> (UTC time, level,
/// category, scopes in brackets). No event ids. An exception adds its message on the same line; its stack trace only when
/// <see cref="IncludeStackTraces"/> is set (log level debug or trace).
/// </summary>
public sealed class PlainConsoleFormatter : ConsoleFormatter
{
    /// <summary>The name that <see cref="ConsoleLoggerOptions.FormatterName"/> selects this formatter by.</summary>
    public const string FormatterName = "postbote";

    /// <summary>Creates the formatter.</summary>
    /// <param name="includeStackTraces">Whether exceptions are written with their stack trace (on lines of their own).</param>
    public PlainConsoleFormatter(bool includeStackTraces)
        : base(FormatterName)
    {
        IncludeStackTraces = includeStackTraces;
    }

    /// <summary>Whether exceptions are written with their stack trace.</summary>
    public bool IncludeStackTraces { get; }

    /// <summary>Writes one entry as one line (plus the stack trace when <see cref="IncludeStackTraces"/>).</summary>
    /// <typeparam name="TState">The state type.</typeparam>
    /// <param name="logEntry">The entry.</param>
    /// <param name="scopeProvider">The active scopes, written in brackets after the category.</param>
    /// <param name="textWriter">Where the line goes.</param>
    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        string? message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null) return;
        textWriter.Write(DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        textWriter.Write(' ');
        textWriter.Write(Level(logEntry.LogLevel));
        textWriter.Write(' ');
        textWriter.Write(logEntry.Category);
        scopeProvider?.ForEachScope((scope, writer) =>
        {
            writer.Write(" [");
            writer.Write(scope);
            writer.Write(']');
        }, textWriter);
        textWriter.Write(": ");
        textWriter.Write(message);
        if (logEntry.Exception is { } e)
        {
            if (IncludeStackTraces)
            {
                textWriter.Write(Environment.NewLine);
                textWriter.Write(e.ToString());
            }
            else
            {
                textWriter.Write(" (");
                textWriter.Write(e.Message.ReplaceLineEndings(" "));
                textWriter.Write(')');
            }
        }
        textWriter.Write(Environment.NewLine);
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
