namespace Postbote.Dns;

/// <summary>One TXT record (RFC 1035 §3.3.14): one or more character-strings of at most 255 octets each.</summary>
/// <param name="Strings">The character-strings in their order, each decoded as UTF-8.</param>
public sealed record TxtRecord(IReadOnlyList<string> Strings)
{
    /// <summary>The strings joined without separator, as SPF and DKIM read a record longer than one string (RFC 7208
    /// §3.3: "If a published record contains multiple character-strings, then the record MUST be treated as if those
    /// strings are concatenated together without adding spaces."). Joined once: a cached answer is read for every
    /// message.</summary>
    public string Text { get; } = string.Concat(Strings);

    /// <inheritdoc/>
    public bool Equals(TxtRecord? other) => other is not null && Strings.SequenceEqual(other.Strings);

    /// <inheritdoc/>
    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);
}
