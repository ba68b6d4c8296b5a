using System.Net;
using System.Net.Sockets;
using Postbote.Dns;

namespace Postbote.Security.Spf;

/// <summary>
/// The SPF <c>check_host()</c> function (RFC 7208 §4) on Postbote's resolver: record lookup and selection (§4.4, §4.5),
/// all mechanisms (§5) and the modifiers <c>redirect</c> and <c>exp</c> (§6), macros (§7), and the processing limits
/// (§4.6.4): at most 10 terms that query DNS and at most 2 void lookups per evaluation. A DNS failure is a
/// <see cref="SpfResult.Temperror"/>, never an exception. Thread-safe: each call has its own state.
/// </summary>
public sealed partial class SpfChecker
{
    /// <summary>The explanation of a fail when the record has no usable <c>exp=</c> (RFC 7208 §6.2: "Software
    /// evaluating check_host() can use this string to communicate information from the publishing domain").</summary>
    public const string DefaultExplanation = "SPF: the domain does not designate the client address as a permitted sender";

    /// <summary>RFC 7208 §4.6.4: "SPF implementations MUST limit the total number of those terms to 10 during SPF
    /// evaluation".</summary>
    public const int MaxDnsTerms = 10;

    /// <summary>RFC 7208 §4.6.4: "SPF implementations SHOULD limit "void lookups" to two."</summary>
    public const int MaxVoidLookups = 2;

    /// <summary>RFC 7208 §4.6.4: the names of an "mx" or "ptr" lookup looked at, at most.</summary>
    private const int MaxNames = 10;

    private readonly IDnsResolver _dns;
    private readonly TimeProvider _time;
    private readonly RecordTextCache<(SpfRecord? Record, string? Error)> _records = new();

    /// <summary>Creates a checker.</summary>
    /// <param name="dns">The resolver every lookup goes through.</param>
    /// <param name="time">The clock for <c>%{t}</c>; the system clock when <c>null</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dns"/> is <c>null</c>.</exception>
    public SpfChecker(IDnsResolver dns, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(dns);
        _dns = dns;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Evaluates <c>check_host(&lt;ip&gt;, &lt;domain&gt;, &lt;sender&gt;)</c> for the domain of
    /// <see cref="SpfRequest.Sender"/>.</summary>
    /// <param name="request">The client address, the identity, the HELO name.</param>
    /// <param name="cancellationToken">Ends the lookups.</param>
    /// <returns>The result, with the explanation on a fail.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <c>null</c>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<SpfCheckResult> CheckHostAsync(SpfRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string domain = request.Domain;
        var evaluation = new Evaluation(request, cancellationToken);
        try
        {
            Outcome outcome = await EvaluateAsync(evaluation, domain, cancellationToken).ConfigureAwait(false);
            string? explanation = null;
            if (outcome.Result == SpfResult.Fail)
                explanation = await ExplainAsync(evaluation, outcome, cancellationToken).ConfigureAwait(false) ?? DefaultExplanation;
            return new SpfCheckResult(outcome.Result, domain, explanation, outcome.Problem);
        }
        catch (SpfException e)
        {
            return new SpfCheckResult(e.Result, domain, null, e.Message);
        }
    }

    /// <summary>The address as SPF compares it: an IPv4-mapped IPv6 address as IPv4 (RFC 7208 §5: "an IPv4-mapped IPv6
    /// address ... MUST be treated as an IPv4 address").</summary>
    /// <param name="address">The address.</param>
    /// <returns>The address to compare.</returns>
    internal static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>One evaluation of a record for <paramref name="domain"/> (§4.3 to §4.7).</summary>
    private async Task<Outcome> EvaluateAsync(Evaluation e, string domain, CancellationToken ct)
    {
        // §4.3: "If the <domain> is malformed (e.g., label longer than 63 characters, zero-length label not at the end,
        // etc.) or is not a multi-label domain name, or if the DNS lookup returns "Name Error" ..., check_host()
        // immediately returns the result "none"."
        if (!IsMultiLabelDomain(domain)) return new Outcome(SpfResult.None, $"'{domain}' is not a multi-label domain name");
        DnsResult<TxtRecord> txt = await _dns.LookupTxtAsync(domain, DnsNameSyntax.AnyText, ct).ConfigureAwait(false);
        if (txt.Outcome == DnsOutcome.TemporaryFailure)
            throw new SpfException(SpfResult.Temperror, $"TXT {domain}: {txt.Failure}");
        string? text = null;
        int count = 0;
        foreach (TxtRecord r in txt.Records)
        {
            if (!SpfRecord.IsSpfRecord(r.Text)) continue;
            text = r.Text;
            count++;
        }
        if (text is null) return new Outcome(SpfResult.None, $"no SPF record at {domain}");
        // §4.5: "If the resultant record set includes more than one record, check_host() produces the "permerror" result."
        if (count > 1) throw new SpfException(SpfResult.Permerror, $"{domain} has {count} SPF records");
        // A record the resolver's cache answers is parsed once, not for every message.
        (SpfRecord? record, string? error) = _records.Get(text, t => SpfRecord.TryParse(t, out SpfRecord? parsed, out string? why) ? (parsed, null) : (null, why));
        if (record is null) throw new SpfException(SpfResult.Permerror, $"{domain}: {error}");

        foreach (SpfMechanism m in record.Mechanisms)
        {
            if (m.QueriesDns) e.CountDnsTerm();
            if (await MatchesAsync(e, m, domain, ct).ConfigureAwait(false))
                return new Outcome(m.Result, $"{domain} matched {m.Kind.ToString().ToLowerInvariant()}", record, domain);
        }
        if (record.Redirect is not null)
        {
            e.CountDnsTerm();
            string target = await ExpandDomainAsync(e, record.Redirect, domain, ct).ConfigureAwait(false);
            Outcome redirected = await EvaluateAsync(e, target, ct).ConfigureAwait(false);
            // §6.1: "If the target domain has no SPF record, ... check_host() produces the "permerror" result."
            if (redirected.Result == SpfResult.None)
                throw new SpfException(SpfResult.Permerror, $"redirect={target} has no SPF record");
            return redirected;
        }
        // §4.7: "If none of the mechanisms match and there is no "redirect" modifier, then the check_host() returns a
        // result of "neutral", just as if "?all" were specified as the last directive."
        return new Outcome(SpfResult.Neutral, $"{domain}: no mechanism matched");
    }

    /// <summary>§6.2: the explanation of a fail, from the <c>exp=</c> of the record that failed; <c>null</c> when there
    /// is none or it cannot be had ("If there are any DNS processing errors ..., or if no records are returned, or if
    /// more than one record is returned, or if there are syntax errors in the explanation string, then proceed as if no
    /// "exp" modifier was given.").</summary>
    private async Task<string?> ExplainAsync(Evaluation e, Outcome outcome, CancellationToken ct)
    {
        if (outcome.Record?.Explanation is not { } spec) return null;
        try
        {
            string name = await ExpandDomainAsync(e, spec, outcome.Domain!, ct).ConfigureAwait(false);
            DnsResult<TxtRecord> txt = await _dns.LookupTxtAsync(name, DnsNameSyntax.AnyText, ct).ConfigureAwait(false);
            if (txt.Outcome != DnsOutcome.Found || txt.Records.Count != 1) return null;
            string text = txt.Records[0].Text;
            if (!SpfMacro.IsValid(text, explanation: true)) return null;
            string? p = await ValidatedNameIfUsedAsync(e, text, outcome.Domain!, ct).ConfigureAwait(false);
            string expanded = SpfMacro.Expand(text, e.Request, outcome.Domain!, p, _time.GetUtcNow());
            return expanded.All(c => c is >= ' ' and <= '~') ? expanded : null;
        }
        catch (Exception x) when (x is SpfException or ArgumentException)
        {
            return null;
        }
    }

    private static bool IsMultiLabelDomain(string domain)
    {
        string d = domain.EndsWith('.') ? domain[..^1] : domain;
        if (d.Length is 0 or > 253 || !d.Contains('.', StringComparison.Ordinal)) return false;
        foreach (string label in d.Split('.'))
            if (label.Length is 0 or > 63) return false;
        return true;
    }

    /// <summary>The state of one evaluation: the arguments and the counters of §4.6.4.</summary>
    private sealed class Evaluation(SpfRequest request, CancellationToken cancellationToken)
    {
        public SpfRequest Request { get; } = request;

        public IPAddress Client { get; } = Normalize(request.Client);

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public int DnsTerms { get; private set; }

        public int VoidLookups { get; private set; }

        /// <summary>§4.6.4: "If this limit is exceeded, the implementation MUST return "permerror"."</summary>
        public void CountDnsTerm()
        {
            if (++DnsTerms > MaxDnsTerms)
                throw new SpfException(SpfResult.Permerror, $"more than {MaxDnsTerms} DNS-querying terms");
        }

        /// <summary>§4.6.4: "If this limit is exceeded, the implementation SHOULD return "permerror"."</summary>
        public void CountVoidLookup(string name)
        {
            if (++VoidLookups > MaxVoidLookups)
                throw new SpfException(SpfResult.Permerror, $"more than {MaxVoidLookups} void lookups (last: {name})");
        }
    }

    /// <summary>Where one evaluation ended: the result, and for a match the record and domain (for the explanation).</summary>
    private sealed record Outcome(SpfResult Result, string? Problem, SpfRecord? Record = null, string? Domain = null);

    /// <summary>A permerror or temperror that ends the evaluation at once.</summary>
    private sealed class SpfException(SpfResult result, string message) : Exception(message)
    {
        public SpfResult Result { get; } = result;
    }
}
