using Microsoft.Extensions.Logging;
using Postbote.Core;

namespace Postbote.Security.Spf;

/// <summary>
/// The SPF stage at MAIL (RFC 7208 §2.4: "SPF verifiers MUST check the "MAIL FROM" identity if a "HELO" check either
/// has not been performed or has not reached a definitive policy result"): checks the reverse-path's domain, or for the
/// null reverse-path the HELO identity (§2.3), and records <c>spf=…</c> in the transaction. A fail is refused with
/// <c>550 5.7.23</c> and the explanation (RFC 7372 §3.2) unless <see cref="SpfOptions.FailAction"/> says record; a
/// softfail never refuses. Authenticated sessions and trusted networks are not checked.
/// </summary>
public sealed class SpfPolicy : IInboundPolicy
{
    /// <summary>RFC 7372 §3.2: X.7.23 "SPF validation failed".</summary>
    public static readonly EnhancedStatusCode ValidationFailed = new(5, 7, 23);

    /// <summary>RFC 7372 §3.3: X.7.24 "SPF validation error".</summary>
    public static readonly EnhancedStatusCode ValidationError = new(4, 7, 24);

    private readonly SpfChecker _checker;
    private readonly SpfOptions _options;
    private readonly string _hostName;
    private readonly ILogger _log;

    /// <summary>Creates the policy.</summary>
    /// <param name="checker">The checker.</param>
    /// <param name="options">The settings.</param>
    /// <param name="hostName">This host's name (<c>%{r}</c>).</param>
    /// <param name="log">Where each result is logged.</param>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    public SpfPolicy(SpfChecker checker, SpfOptions options, string hostName, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(checker);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(hostName);
        ArgumentNullException.ThrowIfNull(log);
        _checker = checker;
        _options = options;
        _hostName = hostName;
        _log = log;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckMailAsync(SessionInfo session, PolicyTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(transaction);
        if (session.IsOwnClient) return PolicyDecision.Accept;
        string? mailFrom = transaction.ReversePath is { IsDomainlessPostmaster: false } path ? path.ToString() : null;
        var request = SpfRequest.ForMailFrom(session.Remote.Address, mailFrom, session.HeloName, _hostName);
        SpfCheckResult r = await _checker.CheckHostAsync(request, cancellationToken).ConfigureAwait(false);
        AuthenticationProperty identity = mailFrom is null
            ? new AuthenticationProperty("smtp", "helo", request.HeloName.Length > 0 ? request.HeloName : "unknown")
            : new AuthenticationProperty("smtp", "mailfrom", mailFrom);
        transaction.Add(new AuthenticationResult("spf", r.Keyword, Comment(r, session), [identity]));
        _log.LogInformation("spf={Result} {Identity}={Value} client={Client}: {Problem}", r.Keyword, identity.Property, identity.Value,
            session.Remote.Address, r.Problem);
        if (r.Result == SpfResult.Fail && _options.FailAction == SpfFailAction.Reject)
            return PolicyDecision.Reject(new SmtpReply(SmtpReplyCode.MailboxUnavailable, ValidationFailed, ReplyText(r.Explanation!)),
                $"spf=fail for {identity.Value} from {session.Remote.Address}");
        if (r.Result == SpfResult.Temperror && _options.TemperrorAction == SpfFailAction.Reject)
            return PolicyDecision.Defer(new SmtpReply(SmtpReplyCode.LocalError, ValidationError, "SPF: temporary DNS error, try again later"),
                $"spf=temperror for {identity.Value}: {r.Problem}");
        return PolicyDecision.Accept;
    }

    /// <summary>The comment RFC 8601 §2.2 allows after the result: which domain designated what.</summary>
    private static string Comment(SpfCheckResult r, SessionInfo session) => r.Result switch
    {
        SpfResult.Pass => $"{r.Domain}: {session.Remote.Address} is permitted",
        SpfResult.Fail or SpfResult.Softfail => $"{r.Domain}: {session.Remote.Address} is not permitted",
        SpfResult.Neutral => $"{r.Domain}: {session.Remote.Address} is neither permitted nor denied",
        SpfResult.None => $"{r.Domain}: no SPF record",
        _ => $"{r.Domain}: " + (r.Problem ?? "error"),
    };

    /// <summary>The explanation as a reply line: visible US-ASCII and spaces only, at most 400 characters.</summary>
    private static string ReplyText(string explanation)
    {
        string clean = new(explanation.Select(c => c is >= ' ' and <= '~' ? c : ' ').ToArray());
        return clean.Length > 400 ? clean[..400] : clean;
    }
}
