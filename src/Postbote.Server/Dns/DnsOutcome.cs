namespace Postbote.Dns;

/// <summary>
/// What a DNS lookup came to. Callers (relaying, SPF) act differently on each: a name that does not exist is a permanent
/// fact, a name without records of the asked type is a fact about that type only, and a failure is temporary.
/// </summary>
public enum DnsOutcome
{
    /// <summary>The answer holds at least one record of the asked type (RCODE NOERROR with data).</summary>
    Found,

    /// <summary>The name does not exist (RCODE 3, NXDOMAIN; RFC 1035 §4.1.1, RFC 2308 §2.1).</summary>
    NoSuchDomain,

    /// <summary>The name exists but has no record of the asked type (RCODE NOERROR with an empty answer, "NODATA";
    /// RFC 2308 §2.2).</summary>
    NoData,

    /// <summary>No usable answer: SERVFAIL, REFUSED or another error RCODE, no answer within the timeout from any server,
    /// or a network error. Not cached; the caller retries later (RFC 5321 §5.1: "If a temporary error is returned, the
    /// message MUST be queued and retried later").</summary>
    TemporaryFailure,
}
