namespace Postbote.Dns;

/// <summary>
/// The result of one lookup of an RRset: the outcome, the records when found, and how long the answer may be used.
/// </summary>
/// <typeparam name="T">The record type: <see cref="MxRecord"/>, <see cref="System.Net.IPAddress"/> (A, AAAA),
/// <see cref="TxtRecord"/>, or <see cref="string"/> (PTR host names).</typeparam>
public sealed record DnsResult<T>
{
    private DnsResult(string name, DnsOutcome outcome, IReadOnlyList<T> records, TimeSpan timeToLive, string? failure)
    {
        Name = name;
        Outcome = outcome;
        Records = records;
        TimeToLive = timeToLive;
        Failure = failure;
    }

    /// <summary>The name that was asked, in the form sent (lower case, A-labels, no trailing dot).</summary>
    public string Name { get; }

    /// <summary>What the lookup came to.</summary>
    public DnsOutcome Outcome { get; }

    /// <summary>The records of the asked type; empty unless <see cref="Outcome"/> is <see cref="DnsOutcome.Found"/>.</summary>
    public IReadOnlyList<T> Records { get; }

    /// <summary>How long this answer may be used from now. Found: the lowest TTL of the RRset (RFC 2181 §5.2), capped at
    /// <see cref="DnsResolverOptions.MaxTtl"/>; no such domain and no data: the negative TTL, the lower of the SOA
    /// record's TTL and its MINIMUM field (RFC 2308 §5), capped at <see cref="DnsResolverOptions.MaxNegativeTtl"/>, or
    /// zero when the answer carried no SOA; temporary failure: zero. From the cache: the time left.</summary>
    public TimeSpan TimeToLive { get; init; }

    /// <summary>Why the lookup failed, for logs and delivery reports (e.g. <c>SERVFAIL from 127.0.0.1:53</c> or
    /// <c>no answer from 127.0.0.1:53 within 5 s (2 tries)</c>); <c>null</c> unless the outcome is
    /// <see cref="DnsOutcome.TemporaryFailure"/>.</summary>
    public string? Failure { get; }

    /// <summary>Whether this answer came from the resolver's cache rather than from a server.</summary>
    public bool FromCache { get; init; }

    /// <summary>A found RRset.</summary>
    /// <param name="name">The name asked.</param>
    /// <param name="records">The records; at least one.</param>
    /// <param name="timeToLive">How long the set may be used.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException"><paramref name="records"/> is empty.</exception>
    public static DnsResult<T> Found(string name, IReadOnlyList<T> records, TimeSpan timeToLive)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0) throw new ArgumentException("a found RRset has at least one record", nameof(records));
        return new(name, DnsOutcome.Found, records, timeToLive, null);
    }

    /// <summary>NXDOMAIN: the name does not exist.</summary>
    /// <param name="name">The name asked.</param>
    /// <param name="negativeTimeToLive">How long the negative answer may be used (RFC 2308 §5).</param>
    /// <returns>The result.</returns>
    public static DnsResult<T> NoSuchDomain(string name, TimeSpan negativeTimeToLive) =>
        new(name, DnsOutcome.NoSuchDomain, [], negativeTimeToLive, null);

    /// <summary>NODATA: the name exists without records of the asked type.</summary>
    /// <param name="name">The name asked.</param>
    /// <param name="negativeTimeToLive">How long the negative answer may be used (RFC 2308 §5).</param>
    /// <returns>The result.</returns>
    public static DnsResult<T> NoData(string name, TimeSpan negativeTimeToLive) =>
        new(name, DnsOutcome.NoData, [], negativeTimeToLive, null);

    /// <summary>A temporary failure.</summary>
    /// <param name="name">The name asked.</param>
    /// <param name="failure">Why, in words for a log line.</param>
    /// <returns>The result.</returns>
    public static DnsResult<T> TemporaryFailure(string name, string failure) =>
        new(name, DnsOutcome.TemporaryFailure, [], TimeSpan.Zero, failure);
}
