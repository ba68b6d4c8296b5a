namespace Postbote.Security.Ube;

/// <summary>What the greylist knows of one triplet. Times are milliseconds since the Unix epoch (UTC).</summary>
/// <param name="FirstSeen">When the triplet was first deferred.</param>
/// <param name="Passed">When a retry was first accepted, or 0 while it is still deferred.</param>
/// <param name="LastSeen">When mail for the triplet was last accepted (or first deferred).</param>
public readonly record struct GreylistEntry(long FirstSeen, long Passed, long LastSeen)
{
    /// <summary>Whether a retry has passed.</summary>
    public bool HasPassed => Passed != 0;
}
