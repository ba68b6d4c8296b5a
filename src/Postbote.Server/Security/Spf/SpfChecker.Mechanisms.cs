using System.Net;
using System.Net.Sockets;
using Postbote.Dns;

namespace Postbote.Security.Spf;

public sealed partial class SpfChecker
{
    /// <summary>Whether one mechanism matches (RFC 7208 §5).</summary>
    private async Task<bool> MatchesAsync(Evaluation e, SpfMechanism m, string domain, CancellationToken ct)
    {
        bool v4 = e.Client.AddressFamily == AddressFamily.InterNetwork;
        switch (m.Kind)
        {
            case SpfMechanismKind.All:
                return true;
            case SpfMechanismKind.Ip4:
                return v4 && InNetwork(e.Client, m.Network!, m.Cidr4);
            case SpfMechanismKind.Ip6:
                return !v4 && InNetwork(e.Client, m.Network!, m.Cidr6);
            case SpfMechanismKind.Include:
            {
                string target = await ExpandDomainAsync(e, m.DomainSpec!, domain, ct).ConfigureAwait(false);
                Outcome inner = await EvaluateAsync(e, target, ct).ConfigureAwait(false);
                // §5.2: pass matches; fail, softfail, neutral do not; temperror and permerror propagate; "none" is a
                // permerror.
                return inner.Result switch
                {
                    SpfResult.Pass => true,
                    SpfResult.Fail or SpfResult.Softfail or SpfResult.Neutral => false,
                    _ => throw new SpfException(SpfResult.Permerror, $"include:{target} has no SPF record"),
                };
            }
            case SpfMechanismKind.A:
            {
                string target = m.DomainSpec is null ? domain : await ExpandDomainAsync(e, m.DomainSpec, domain, ct).ConfigureAwait(false);
                IReadOnlyList<IPAddress> addresses = await AddressesAsync(e, target, v4, countVoid: true, ct).ConfigureAwait(false);
                return addresses.Any(a => InNetwork(e.Client, a, v4 ? m.Cidr4 : m.Cidr6));
            }
            case SpfMechanismKind.Mx:
            {
                string target = m.DomainSpec is null ? domain : await ExpandDomainAsync(e, m.DomainSpec, domain, ct).ConfigureAwait(false);
                DnsResult<MxRecord> mx = await LookupAsync(target, n => _dns.LookupMxAsync(n, DnsNameSyntax.AnyText, ct)).ConfigureAwait(false);
                if (mx.Outcome == DnsOutcome.TemporaryFailure) throw new SpfException(SpfResult.Temperror, $"MX {target}: {mx.Failure}");
                if (mx.Outcome != DnsOutcome.Found)
                {
                    e.CountVoidLookup(target);
                    return false;
                }
                // §4.6.4: "the evaluation of each "MX" record MUST NOT result in querying more than 10 address records
                // ... If this limit is exceeded, the "mx" mechanism MUST produce a "permerror" result."
                if (mx.Records.Count > MaxNames) throw new SpfException(SpfResult.Permerror, $"MX {target} has more than {MaxNames} records");
                foreach (MxRecord r in mx.Records)
                {
                    if (r.IsNullMx) continue;
                    IReadOnlyList<IPAddress> addresses = await AddressesAsync(e, r.Exchange, v4, countVoid: false, ct).ConfigureAwait(false);
                    if (addresses.Any(a => InNetwork(e.Client, a, v4 ? m.Cidr4 : m.Cidr6))) return true;
                }
                return false;
            }
            case SpfMechanismKind.Ptr:
            {
                string target = m.DomainSpec is null ? domain : await ExpandDomainAsync(e, m.DomainSpec, domain, ct).ConfigureAwait(false);
                IReadOnlyList<string> names = await ValidatedNamesAsync(e, countVoid: true, ct).ConfigureAwait(false);
                return names.Any(n => IsSameOrSubdomain(n, target));
            }
            case SpfMechanismKind.Exists:
            {
                string target = await ExpandDomainAsync(e, m.DomainSpec!, domain, ct).ConfigureAwait(false);
                // §5.7: "The resulting domain name is used for a DNS A RR lookup (even when the connection type is IPv6)."
                DnsResult<IPAddress> a = await LookupAsync(target, n => _dns.LookupAAsync(n, DnsNameSyntax.AnyText, ct)).ConfigureAwait(false);
                if (a.Outcome == DnsOutcome.TemporaryFailure) throw new SpfException(SpfResult.Temperror, $"A {target}: {a.Failure}");
                if (a.Outcome != DnsOutcome.Found)
                {
                    e.CountVoidLookup(target);
                    return false;
                }
                return true;
            }
            default:
                return false;
        }
    }

    /// <summary>The A (IPv4 client) or AAAA (IPv6 client) records of a name (§5.3); a temporary failure ends the
    /// evaluation with temperror.</summary>
    private async Task<IReadOnlyList<IPAddress>> AddressesAsync(Evaluation e, string name, bool v4, bool countVoid, CancellationToken ct)
    {
        DnsResult<IPAddress> r = await LookupAsync(name, n => v4 ? _dns.LookupAAsync(n, DnsNameSyntax.AnyText, ct) : _dns.LookupAaaaAsync(n, DnsNameSyntax.AnyText, ct))
            .ConfigureAwait(false);
        if (r.Outcome == DnsOutcome.TemporaryFailure) throw new SpfException(SpfResult.Temperror, $"{(v4 ? "A" : "AAAA")} {name}: {r.Failure}");
        if (r.Outcome != DnsOutcome.Found)
        {
            if (countVoid) e.CountVoidLookup(name);
            return [];
        }
        return r.Records;
    }

    /// <summary>A lookup of a name SPF built: a name that cannot be a DNS name (an empty label, one over 63 octets) is a
    /// name that does not exist.</summary>
    private static async Task<DnsResult<T>> LookupAsync<T>(string name, Func<string, ValueTask<DnsResult<T>>> lookup)
    {
        try
        {
            return await lookup(name).ConfigureAwait(false);
        }
        catch (ArgumentException)
        {
            return DnsResult<T>.NoSuchDomain(name, TimeSpan.Zero);
        }
    }

    /// <summary>§5.5 and §7.3: the validated domain names of the client: PTR names (the first 10) whose A or AAAA
    /// records hold the client's address. A failed lookup just leaves a name out ("If a DNS error occurs while doing
    /// the PTR RR lookup, then this mechanism fails to match.").</summary>
    private async Task<IReadOnlyList<string>> ValidatedNamesAsync(Evaluation e, bool countVoid, CancellationToken ct)
    {
        bool v4 = e.Client.AddressFamily == AddressFamily.InterNetwork;
        DnsResult<string> ptr = await _dns.LookupPtrAsync(e.Client, ct).ConfigureAwait(false);
        if (ptr.Outcome != DnsOutcome.Found)
        {
            if (countVoid && ptr.Outcome != DnsOutcome.TemporaryFailure) e.CountVoidLookup(ptr.Name);
            return [];
        }
        var validated = new List<string>();
        foreach (string name in ptr.Records.Take(MaxNames))
        {
            DnsResult<IPAddress> r = await LookupAsync(name, n => v4 ? _dns.LookupAAsync(n, DnsNameSyntax.AnyText, ct) : _dns.LookupAaaaAsync(n, DnsNameSyntax.AnyText, ct))
                .ConfigureAwait(false);
            if (r.Outcome == DnsOutcome.Found && r.Records.Any(a => Normalize(a).Equals(e.Client))) validated.Add(name);
        }
        return validated;
    }

    /// <summary>The <c>%{p}</c> value when <paramref name="text"/> uses it (§7.3: a validated name that is the domain
    /// or a subdomain of it is preferred, then any validated name, else "unknown"); <c>null</c> otherwise.</summary>
    private async Task<string?> ValidatedNameIfUsedAsync(Evaluation e, string text, string domain, CancellationToken ct)
    {
        if (!text.Contains("%{p", StringComparison.OrdinalIgnoreCase)) return null;
        IReadOnlyList<string> names = await ValidatedNamesAsync(e, countVoid: false, ct).ConfigureAwait(false);
        return names.FirstOrDefault(n => IsSameOrSubdomain(n, domain)) ?? names.FirstOrDefault() ?? "unknown";
    }

    /// <summary>Expands a domain-spec for a query: macros, then the truncation of §7.3.</summary>
    private async Task<string> ExpandDomainAsync(Evaluation e, string spec, string domain, CancellationToken ct)
    {
        string? p = await ValidatedNameIfUsedAsync(e, spec, domain, ct).ConfigureAwait(false);
        return SpfMacro.TruncateDomain(SpfMacro.Expand(spec, e.Request, domain, p, _time.GetUtcNow()));
    }

    private static bool IsSameOrSubdomain(string name, string domain)
    {
        string n = name.TrimEnd('.'), d = domain.TrimEnd('.');
        return n.Equals(d, StringComparison.OrdinalIgnoreCase) || n.EndsWith("." + d, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether <paramref name="address"/> is in <paramref name="network"/>/<paramref name="prefix"/>; addresses
    /// of different families never match.</summary>
    private static bool InNetwork(IPAddress address, IPAddress network, int prefix)
    {
        network = Normalize(network);
        if (address.AddressFamily != network.AddressFamily) return false;
        byte[] a = address.GetAddressBytes(), n = network.GetAddressBytes();
        int full = prefix / 8, rest = prefix % 8;
        for (int i = 0; i < full; i++)
            if (a[i] != n[i]) return false;
        if (rest == 0) return true;
        int mask = 0xFF << (8 - rest) & 0xFF;
        return (a[full] & mask) == (n[full] & mask);
    }
}
