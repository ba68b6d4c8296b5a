namespace Postbote.Security.Ube;

/// <summary>The <c>[greylist]</c> table (RFC 6647): whether greylisting is on and its times.</summary>
public sealed class GreylistOptions
{
    /// <summary>Whether RCPT from unknown triplets is deferred. Defaults to false.</summary>
    public bool Enabled { get; set; }

    /// <summary>How long after the first attempt a retry is accepted. Defaults to 300 seconds (postgrey's delay: short
    /// enough that a legitimate sender's first retries pass, RFC 6647).</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>How long after the first attempt a retry still counts: a triplet first seen longer ago and never passed
    /// starts again. Defaults to 2 days (postgrey's max-age).</summary>
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromDays(2);

    /// <summary>How long a passed triplet is remembered without mail. Defaults to 35 days (postgrey's max-age for
    /// auto-whitelisted entries).</summary>
    public TimeSpan Expire { get; set; } = TimeSpan.FromDays(35);

    /// <summary>Prefix length, in bits, of the IPv4 client network in the triplet. Defaults to 24 (a sender's outbound
    /// servers often share a /24 and retry from another address of it).</summary>
    public int NetworkPrefixV4 { get; set; } = 24;

    /// <summary>Prefix length, in bits, of the IPv6 client network in the triplet. Defaults to 64.</summary>
    public int NetworkPrefixV6 { get; set; } = 64;

    /// <summary>Most triplets kept; beyond it the least recently seen are dropped. Defaults to 1,000,000 (about 100 MB
    /// of memory and 70 MB of file).</summary>
    public int MaxEntries { get; set; } = 1_000_000;

    /// <summary>Checks the settings together.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; the message names it.</exception>
    public void Validate()
    {
        if (Delay <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Delay), Delay, "greylist.delay must be more than 0 seconds");
        if (RetryWindow <= Delay) throw new ArgumentOutOfRangeException(nameof(RetryWindow), RetryWindow, "greylist.retry_window must be longer than greylist.delay");
        if (Expire <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Expire), Expire, "greylist.expire must be more than 0 seconds");
        if (NetworkPrefixV4 is < 8 or > 32) throw new ArgumentOutOfRangeException(nameof(NetworkPrefixV4), NetworkPrefixV4, "greylist.network_prefix_v4 must be between 8 and 32");
        if (NetworkPrefixV6 is < 16 or > 128) throw new ArgumentOutOfRangeException(nameof(NetworkPrefixV6), NetworkPrefixV6, "greylist.network_prefix_v6 must be between 16 and 128");
        if (MaxEntries < 1) throw new ArgumentOutOfRangeException(nameof(MaxEntries), MaxEntries, "greylist max entries must be at least 1");
    }
}
