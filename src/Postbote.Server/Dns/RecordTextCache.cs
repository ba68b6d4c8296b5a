using System.Collections.Concurrent;

namespace Postbote.Dns;

/// <summary>
/// Records parsed from their text, kept by that text: a record the resolver's cache answers for every message (an SPF,
/// DMARC or DKIM key record) is parsed once, not once per message. Freshness stays the resolver's: a changed record
/// has a new text and is parsed again. At most <see cref="Capacity"/> texts are kept; when full, all are dropped and
/// parsed again as they come. Thread-safe.
/// </summary>
/// <typeparam name="T">The parsed form; it must not change after parsing, since it is shared.</typeparam>
internal sealed class RecordTextCache<T>
{
    /// <summary>The most texts kept (count).</summary>
    public const int Capacity = 1000;

    private readonly ConcurrentDictionary<string, T> _parsed = new(StringComparer.Ordinal);

    /// <summary>The parsed form of a record text, parsed now when not known.</summary>
    /// <param name="text">The record text.</param>
    /// <param name="parse">The parser; what it throws is passed on and nothing is kept.</param>
    /// <returns>The parsed form.</returns>
    public T Get(string text, Func<string, T> parse)
    {
        if (_parsed.TryGetValue(text, out T? known)) return known;
        T value = parse(text);
        if (_parsed.Count >= Capacity) _parsed.Clear();
        _parsed.TryAdd(text, value);
        return value;
    }
}
