namespace Postbote.Host.Configuration;

/// <summary>
/// One setting as <c>postbote show-config</c> prints it: its dotted key and how to read its effective value from a
/// <see cref="PostboteConfiguration"/>. The value is a <see cref="bool"/>, an integer, a <see cref="TimeSpan"/> (printed
/// in seconds), a <see cref="string"/>, a sequence of strings, a map of strings to strings or string sequences (an
/// inline table), or <c>null</c> for a setting without a value (printed as a comment).
/// </summary>
/// <param name="Key">The dotted key, e.g. <c>queue.retry_interval</c>.</param>
/// <param name="Value">Reads the effective value.</param>
public sealed record ConfigurationSetting(string Key, Func<PostboteConfiguration, object?> Value)
{
    /// <summary>The table part of <see cref="Key"/> (<c>queue</c>), empty for a top-level key.</summary>
    public string Table => Key.LastIndexOf('.') is var dot and > 0 ? Key[..dot] : "";

    /// <summary>The name within the table (<c>retry_interval</c>).</summary>
    public string Name => Key[(Key.LastIndexOf('.') + 1)..];
}
