using System.Globalization;

namespace Postbote.Host.Configuration;

/// <summary>One finding of <see cref="ConfigurationLoader.Check"/>: where in the file, which setting, and why.</summary>
/// <param name="File">The configuration file's full path.</param>
/// <param name="Line">The 1-based line of the setting (or of the syntax error); 0 when no line can be named.</param>
/// <param name="Key">The dotted setting, e.g. <c>relay.port</c>; <c>toml</c> for a syntax error.</param>
/// <param name="Reason">Why, on one line.</param>
/// <param name="IsWarning">Whether the file still works (a renamed setting) rather than being refused.</param>
public sealed record ConfigurationDiagnostic(string File, int Line, string Key, string Reason, bool IsWarning = false)
{
    /// <summary>The finding as <c>FILE:LINE: KEY: reason</c> (<c>FILE: KEY: reason</c> without a line), a warning with
    /// <c>warning: </c> before the reason.</summary>
    /// <returns>One line.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{File}{(Line > 0 ? ":" + Line.ToString(CultureInfo.InvariantCulture) : "")}: {Key}: {(IsWarning ? "warning: " : "")}{Reason}");
}
