using Postbote.Core;

namespace Postbote.Security;

/// <summary>
/// One mail transaction as the policy sees it, from MAIL to the end of data (RFC 5321 §3.3): its reverse-path and the
/// authentication results the stages found on the way (SPF at MAIL, DKIM, ARC and DMARC at the end of data), which a
/// later stage reads (DMARC needs SPF's) and which become the Authentication-Results header field (RFC 8601).
/// </summary>
public sealed class PolicyTransaction
{
    private readonly List<AuthenticationResult> _results = [];

    /// <summary>Creates the transaction of a MAIL command.</summary>
    /// <param name="reversePath">The reverse-path, <c>null</c> for <c>&lt;&gt;</c>.</param>
    public PolicyTransaction(Mailbox? reversePath) => ReversePath = reversePath;

    /// <summary>The reverse-path, <c>null</c> for the null reverse-path <c>&lt;&gt;</c>.</summary>
    public Mailbox? ReversePath { get; }

    /// <summary>The results recorded so far, in the order recorded.</summary>
    public IReadOnlyList<AuthenticationResult> Results => _results;

    /// <summary>Records a result. Stages of one session run one at a time, so no lock is needed.</summary>
    /// <param name="result">The result.</param>
    public void Add(AuthenticationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        _results.Add(result);
    }

    /// <summary>The first result of a method, or <c>null</c>.</summary>
    /// <param name="method">The method name as registered with IANA (RFC 8601 §2.7): <c>spf</c>, <c>dkim</c>, <c>dmarc</c>, <c>arc</c>.</param>
    /// <returns>The result or <c>null</c>.</returns>
    public AuthenticationResult? Find(string method) => _results.Find(r => string.Equals(r.Method, method, StringComparison.OrdinalIgnoreCase));
}
