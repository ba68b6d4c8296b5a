using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using MimeKit;
using Postbote.Core;
using Postbote.Dkim;
using Postbote.Dns;

namespace Postbote.Security.Dmarc;

/// <summary>
/// DMARC (RFC 7489) at the end of data: the From: domain of the header section (§3.1.1, §6.6.1), its policy record at
/// <c>_dmarc.&lt;domain&gt;</c> or at the organizational domain's (§6.6.3), SPF and DKIM identifier alignment, relaxed
/// or strict (§3.1), from the results the SPF and DKIM stages recorded, and the policy applied: p=reject refused with
/// <c>550 5.7.1</c>, p=quarantine filed as junk, sp= for subdomains, pct= sampled (§6.6.4: a message outside the sample
/// gets the next lower policy). With <see cref="DmarcOptions.Honour"/> off the result is only recorded. A header section
/// with no From: or with From: naming more than one domain is recorded as <c>dmarc=permerror</c> and not refused.
/// Authenticated sessions and trusted networks are not checked.
/// </summary>
public sealed class DmarcPolicy : IInboundPolicy
{
    private readonly IDnsResolver _dns;
    private readonly PublicSuffixList _suffixes;
    private readonly DmarcOptions _options;
    private readonly Random _random;
    private readonly ILogger _log;
    private readonly RecordTextCache<DmarcRecord?> _records = new();

    /// <summary>Creates the policy.</summary>
    /// <param name="dns">The resolver.</param>
    /// <param name="suffixes">The Public Suffix List.</param>
    /// <param name="options">The settings.</param>
    /// <param name="random">The source of the pct= sample: <c>Next(100)</c> below pct applies the policy.</param>
    /// <param name="log">Where results are logged.</param>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    public DmarcPolicy(IDnsResolver dns, PublicSuffixList suffixes, DmarcOptions options, Random random, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(suffixes);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(log);
        _dns = dns;
        _suffixes = suffixes;
        _options = options;
        _random = random;
        _log = log;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(message);
        if (session.IsOwnClient) return PolicyDecision.Accept;
        PolicyTransaction t = message.Transaction;
        List<string> domains = FromDomains(message.HeaderSection);
        if (domains.Count != 1)
        {
            t.Add(new AuthenticationResult("dmarc", "permerror", domains.Count == 0 ? "no From: domain" : "From: names more than one domain"));
            return PolicyDecision.Accept;
        }
        string from = domains[0];
        string org = _suffixes.OrganizationalDomain(from);
        var header = new AuthenticationProperty("header", "from", from);
        (DmarcRecord? record, string? failure) = await LookupAsync(from, cancellationToken).ConfigureAwait(false);
        bool atOrg = false;
        if (record is null && failure is null && org != from)
        {
            (record, failure) = await LookupAsync(org, cancellationToken).ConfigureAwait(false);
            atOrg = true;
        }
        if (failure is not null)
        {
            t.Add(new AuthenticationResult("dmarc", "temperror", failure, [header]));
            return PolicyDecision.Accept;
        }
        if (record is null)
        {
            t.Add(new AuthenticationResult("dmarc", "none", null, [header]));
            return PolicyDecision.Accept;
        }

        bool spfAligned = t.Results.Any(r => r.Method == "spf" && r.Result == "pass"
            && Aligned(DomainOf(r.Get("smtp", "mailfrom") ?? r.Get("smtp", "helo")), from, record.StrictSpf));
        bool dkimAligned = t.Results.Any(r => r.Method == "dkim" && r.Result == "pass" && Aligned(r.Get("header", "d"), from, record.StrictDkim));
        // §6.6.3: the sp= policy applies when the record was found at the organizational domain for a subdomain.
        string published = atOrg ? record.SubdomainPolicy : record.Policy;
        if (spfAligned || dkimAligned)
        {
            t.Add(new AuthenticationResult("dmarc", "pass", null, [header, new("policy", "dmarc", published)]));
            return PolicyDecision.Accept;
        }
        string applied = published;
        // §6.6.4: "If email is subject to the DMARC policy of "quarantine", the Mail Receiver SHOULD quarantine the
        // message. If the email is not subject to the "pct" sampling, ... the next policy lower."
        if (applied != "none" && record.Percent < 100 && _random.Next(100) >= record.Percent)
            applied = applied == "reject" ? "quarantine" : "none";
        t.Add(new AuthenticationResult("dmarc", "fail", $"p={published} dis={applied}", [header, new("policy", "dmarc", applied)]));
        _log.LogInformation("dmarc=fail header.from={From} p={Published} applied={Applied}", from, published, applied);
        if (!_options.Honour) return PolicyDecision.Accept;
        return applied switch
        {
            "reject" => PolicyDecision.Reject(new SmtpReply(SmtpReplyCode.MailboxUnavailable, new EnhancedStatusCode(5, 7, 1),
                $"Message rejected by the DMARC policy of {from}"), $"dmarc=fail p=reject header.from={from}"),
            "quarantine" => PolicyDecision.AcceptWith(null, quarantine: true, reason: $"dmarc=fail p=quarantine header.from={from}"),
            _ => PolicyDecision.Accept,
        };
    }

    /// <summary>§3.1.1 and §3.1.2: relaxed alignment compares organizational domains, strict the domains exactly.</summary>
    private bool Aligned(string? domain, string from, bool strict)
    {
        if (string.IsNullOrEmpty(domain)) return false;
        string d = domain.TrimEnd('.').ToLowerInvariant();
        return strict ? d == from : _suffixes.OrganizationalDomain(d) == _suffixes.OrganizationalDomain(from);
    }

    private static string? DomainOf(string? identity)
    {
        if (identity is null) return null;
        int at = identity.LastIndexOf('@');
        return at < 0 ? identity : identity[(at + 1)..];
    }

    /// <summary>§6.6.3: the TXT records at <c>_dmarc.domain</c> that begin with <c>v=DMARC1</c>; exactly one valid
    /// record is used ("If the remaining set contains multiple records or no records, policy discovery terminates").</summary>
    private async Task<(DmarcRecord? Record, string? Failure)> LookupAsync(string domain, CancellationToken cancellationToken)
    {
        DnsResult<TxtRecord> r;
        try
        {
            r = await _dns.LookupTxtAsync("_dmarc." + domain, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException)
        {
            return (null, null);
        }
        if (r.Outcome == DnsOutcome.TemporaryFailure) return (null, $"TXT _dmarc.{domain}: {r.Failure}");
        string? found = null;
        foreach (TxtRecord txt in r.Records)
        {
            if (!txt.Text.AsSpan().TrimStart().StartsWith("v=DMARC1", StringComparison.Ordinal)) continue;
            if (found is not null) return (null, null);
            found = txt.Text;
        }
        // A record the resolver's cache answers is parsed once, not for every message.
        return found is null ? (null, null) : (_records.Get(found, DmarcRecord.TryParse), null);
    }

    /// <summary>The distinct domains of the From: fields of a header section (RFC 5322 §3.6.2), lower case.</summary>
    internal static List<string> FromDomains(ReadOnlyMemory<byte> section)
    {
        var domains = new List<string>();
        List<string> values = FieldValues(section, "From");
        foreach (string value in values)
        {
            if (!InternetAddressList.TryParse(ParserOptions.Default, value, out InternetAddressList? list)) continue;
            foreach (MailboxAddress m in list.Mailboxes)
            {
                string d = m.Domain.TrimEnd('.').ToLowerInvariant();
                if (d.Length > 0 && !domains.Contains(d)) domains.Add(d);
            }
        }
        // Several From: fields are several authors: "more than one domain" even when they agree (§6.6.1).
        if (values.Count > 1 && domains.Count == 1) domains.Add(domains[0] + " (twice)");
        return domains;
    }

    /// <summary>The unfolded values of the fields named <paramref name="name"/>: each value from after the colon, its
    /// line breaks removed, decoded as UTF-8. Only the fields asked for are decoded.</summary>
    private static List<string> FieldValues(ReadOnlyMemory<byte> section, string name)
    {
        var values = new List<string>();
        foreach (HeaderField field in HeaderField.Split(section))
        {
            if (!field.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) continue;
            ReadOnlySpan<byte> raw = field.Raw.Span;
            ReadOnlySpan<byte> value = raw[(raw.IndexOf((byte)':') + 1)..];
            if (value.IndexOfAny((byte)'\r', (byte)'\n') < 0)
            {
                values.Add(Encoding.UTF8.GetString(value));
                continue;
            }
            var unfolded = new List<byte>(value.Length);
            foreach (byte b in value)
                if (b is not ((byte)'\r' or (byte)'\n')) unfolded.Add(b);
            values.Add(Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(unfolded)));
        }
        return values;
    }
}
