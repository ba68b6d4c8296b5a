namespace Postbote.Security.Spf;

/// <summary>What one <c>check_host()</c> evaluation (RFC 7208 §4) came to.</summary>
/// <param name="Result">The result.</param>
/// <param name="Domain">The domain whose policy was evaluated first (the identity's domain), as given.</param>
/// <param name="Explanation">For <see cref="SpfResult.Fail"/>: the explanation string (RFC 7208 §6.2), the expanded
/// <c>exp=</c> text or <see cref="SpfChecker.DefaultExplanation"/>; otherwise <c>null</c>.</param>
/// <param name="Problem">Why a permerror or temperror happened, or which term matched, for logs and the
/// Authentication-Results comment; <c>null</c> when there is nothing to say.</param>
public sealed record SpfCheckResult(SpfResult Result, string Domain, string? Explanation = null, string? Problem = null)
{
    /// <summary>The result keyword as RFC 8601 §2.7.2 writes it: <c>pass</c>, <c>fail</c>, <c>softfail</c> …</summary>
    public string Keyword => Result.ToString().ToLowerInvariant();
}
