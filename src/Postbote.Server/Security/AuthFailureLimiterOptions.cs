namespace Postbote.Security;

/// <summary>The limits of <see cref="AuthFailureLimiter"/>: how many failed SMTP AUTH attempts one client address may
/// make before it is refused for a while.</summary>
public sealed class AuthFailureLimiterOptions
{
    /// <summary>Failed attempts from one address (IPv4, or IPv6 /64) within <see cref="Window"/> after which the address is
    /// blocked. Default: 20.</summary>
    public int MaxFailures { get; set; } = 20;

    /// <summary>The window in which failures are counted, from the first failure of the window. Default: 15 minutes
    /// (900 seconds).</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a blocked address gets <c>454 4.7.0</c> for AUTH, even with the right password. Default:
    /// 15 minutes (900 seconds).</summary>
    public TimeSpan BlockTime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The most addresses tracked at once; beyond it the least recently active one is forgotten. Default:
    /// 100,000 (a few MiB of memory).</summary>
    public int MaxTrackedAddresses { get; set; } = 100_000;

    /// <summary>Checks the options at start-up.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1 or a time is zero or negative.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFailures, 1, nameof(MaxFailures));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Window, TimeSpan.Zero, nameof(Window));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(BlockTime, TimeSpan.Zero, nameof(BlockTime));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTrackedAddresses, 1, nameof(MaxTrackedAddresses));
    }
}
