namespace Postbote.Security.Spf;

/// <summary>The <c>[spf]</c> settings.</summary>
public sealed class SpfOptions
{
    /// <summary>Whether MAIL FROM (or, for the null reverse-path, HELO) is checked at MAIL. Defaults to <c>true</c>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>What a <c>fail</c> does: <see cref="SpfFailAction.Reject"/> (default) answers MAIL with
    /// <c>550 5.7.23</c> and the explanation; <see cref="SpfFailAction.Record"/> only records it. A softfail never
    /// rejects (RFC 7208 §8.5: it "should not reject").</summary>
    public SpfFailAction FailAction { get; set; } = SpfFailAction.Reject;

    /// <summary>What a <c>temperror</c> does: <see cref="SpfFailAction.Record"/> (default) records it;
    /// <see cref="SpfFailAction.Reject"/> (setting <c>"defer"</c>) answers <c>451 4.7.24</c> (RFC 7208 §8.6).</summary>
    public SpfFailAction TemperrorAction { get; set; } = SpfFailAction.Record;
}
