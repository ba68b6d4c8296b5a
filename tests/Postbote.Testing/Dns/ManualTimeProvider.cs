namespace Postbote.Testing.Dns;

/// <summary>A clock that moves only when told to: for TTL tests that must not wait out the TTLs.</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private long ticks = new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero).UtcTicks;

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref ticks), TimeSpan.Zero);

    /// <inheritdoc/>
    public override long GetTimestamp() => Interlocked.Read(ref ticks);

    /// <summary>One timestamp unit is one .NET tick (100 ns).</summary>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Moves the clock forward.</summary>
    /// <param name="by">How far; not negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="by"/> is negative.</exception>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref ticks, by.Ticks);
    }
}
