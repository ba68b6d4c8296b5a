using System.Net;
using System.Net.Sockets;
using Postbote.Core;
using Postbote.Dns;

namespace Postbote.Delivery.Smtp;

/// <summary>
/// Finds the addresses to try for a recipient domain (RFC 5321 §5.1): its MX records in preference order, equal
/// preferences in random order; no MX records → the domain's own addresses (the implicit MX); a null MX (RFC 7505) →
/// no mail at all. Every address of one exchanger, IPv4 and IPv6, comes before the next exchanger; which family first is
/// the <see cref="AddressPreference"/> (Postfix's <c>smtp_address_preference</c>).
/// </summary>
public sealed class DestinationResolver
{
    private readonly IDnsResolver _dns;
    private readonly Random _random;
    private readonly AddressPreference _preference;

    /// <summary>Creates the resolver.</summary>
    /// <param name="dns">The DNS resolver.</param>
    /// <param name="random">Orders mail exchangers of equal preference (and the address families of one exchanger with
    /// <see cref="AddressPreference.Any"/>); <see cref="Random.Shared"/> when <c>null</c>.</param>
    /// <param name="preference">Which address family of an exchanger is tried first.</param>
    public DestinationResolver(IDnsResolver dns, Random? random = null, AddressPreference preference = AddressPreference.Any)
    {
        ArgumentNullException.ThrowIfNull(dns);
        _dns = dns;
        _random = random ?? Random.Shared;
        _preference = preference;
    }

    /// <summary>The families in the order to try for one exchanger: <c>false</c> is IPv4, <c>true</c> IPv6.</summary>
    private bool[] FamilyOrder() => _preference switch
    {
        AddressPreference.IPv4 => [false, true],
        AddressPreference.IPv6 => [true, false],
        _ => _random.Next(2) == 0 ? [false, true] : [true, false],
    };

    /// <summary>Looks up where mail for <paramref name="domain"/> goes.</summary>
    /// <param name="domain">The recipient domain, or an address literal such as <c>[192.0.2.1]</c>.</param>
    /// <param name="cancellationToken">Ends the lookups.</param>
    /// <returns>The addresses in the order to try, or the failure every recipient of the domain gets: 5.1.10 for a
    /// null MX, 5.1.2 for a domain that does not exist, 4.4.3 when DNS failed temporarily, 5.4.4 when no exchanger has
    /// an address.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<DestinationLookup> ResolveAsync(string domain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (domain.StartsWith('['))
        {
            string literal = domain.Trim('[', ']');
            if (literal.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase)) literal = literal[5..];
            return IPAddress.TryParse(literal, out IPAddress? address)
                ? DestinationLookup.To([new MailExchanger(domain, 0, address)])
                : DestinationLookup.Failed(Permanent(SmtpReplyCode.MailboxUnavailable, BadDestinationSystem, $"{domain} is not an address literal"));
        }
        DnsResult<MxRecord> mx;
        try
        {
            mx = await _dns.LookupMxAsync(domain, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException)
        {
            return DestinationLookup.Failed(Permanent(SmtpReplyCode.MailboxUnavailable, BadDestinationSystem, $"{domain} is not a domain name"));
        }
        var hosts = new List<MxRecord>();
        switch (mx.Outcome)
        {
            case DnsOutcome.NoSuchDomain:
                return DestinationLookup.Failed(Permanent(SmtpReplyCode.MailboxUnavailable, BadDestinationSystem, $"domain {domain} does not exist (NXDOMAIN)"));
            case DnsOutcome.TemporaryFailure:
                return DestinationLookup.Failed(Temporary(DnsTemporary, $"MX lookup of {domain} failed: {mx.Failure}"));
            case DnsOutcome.NoData:
                // RFC 5321 §5.1: "If an empty list of MXs is returned, the address is treated as if it was associated
                // with an implicit MX RR, with a preference of 0, pointing to that host."
                hosts.Add(new MxRecord(0, domain.TrimEnd('.').ToLowerInvariant()));
                break;
            default:
                // RFC 7505 §4: a domain with a null MX takes no mail, so no delivery is attempted and the failure is
                // reported at once, as 556 (RFC 7504 §3) with the enhanced status code 5.1.10 that RFC 7505 registers.
                if (MxRecord.IsNullMxSet(mx.Records))
                {
                    return DestinationLookup.Failed(Permanent(SmtpReplyCode.DomainDoesNotAcceptMail, new EnhancedStatusCode(5, 1, 10),
                        $"domain {domain} accepts no mail (null MX)"));
                }
                hosts.AddRange(Order(mx.Records, _random));
                break;
        }

        var exchangers = new List<MailExchanger>();
        string? temporary = null;
        foreach (MxRecord host in hosts)
        {
            foreach (bool v6 in FamilyOrder())
            {
                DnsResult<IPAddress> addresses;
                try
                {
                    addresses = v6 ? await _dns.LookupAaaaAsync(host.Exchange, cancellationToken).ConfigureAwait(false)
                        : await _dns.LookupAAsync(host.Exchange, cancellationToken).ConfigureAwait(false);
                }
                catch (ArgumentException)
                {
                    break;
                }
                if (addresses.Outcome == DnsOutcome.TemporaryFailure) temporary ??= $"address lookup of {host.Exchange} failed: {addresses.Failure}";
                foreach (IPAddress address in addresses.Records)
                {
                    if (address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                        exchangers.Add(new MailExchanger(host.Exchange, host.Preference, address));
                }
            }
        }
        if (exchangers.Count > 0) return DestinationLookup.To(exchangers);
        // RFC 5321 §5.1: "If MX records are present, but none of them are usable, or the implicit MX is unusable, this
        // situation MUST be reported as an error."
        if (temporary is not null) return DestinationLookup.Failed(Temporary(DnsTemporary, temporary));
        return mx.Outcome == DnsOutcome.NoData
            ? DestinationLookup.Failed(Permanent(SmtpReplyCode.MailboxUnavailable, BadDestinationSystem, $"domain {domain} has no MX and no address records"))
            : DestinationLookup.Failed(Permanent(SmtpReplyCode.MailboxUnavailable, new EnhancedStatusCode(5, 4, 4), $"no mail exchanger of {domain} has an address"));
    }

    /// <summary>
    /// The addresses of a fixed next hop (a transport or the smarthost, written in brackets: no MX lookup, RFC 5321 §5.1
    /// applies to domains only): an IP address as it is, a host name through its A and AAAA records, in the order of the
    /// address preference.
    /// </summary>
    /// <param name="host">The host name or IP address, without brackets.</param>
    /// <param name="cancellationToken">Ends the lookups.</param>
    /// <returns>The addresses (as exchangers of preference 0 named <paramref name="host"/>), or the failure: 4.4.3 when DNS
    /// failed temporarily, 5.4.4 when the host has no address (a configuration error the admin must see in the
    /// bounce).</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<DestinationLookup> ResolveHostAsync(string host, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (IPAddress.TryParse(host, out IPAddress? literal)) return DestinationLookup.To([new MailExchanger(host, 0, literal)]);
        var exchangers = new List<MailExchanger>();
        string? temporary = null;
        foreach (bool v6 in FamilyOrder())
        {
            DnsResult<IPAddress> addresses;
            try
            {
                addresses = v6 ? await _dns.LookupAaaaAsync(host, cancellationToken).ConfigureAwait(false)
                    : await _dns.LookupAAsync(host, cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException)
            {
                break;
            }
            if (addresses.Outcome == DnsOutcome.TemporaryFailure) temporary ??= $"address lookup of {host} failed: {addresses.Failure}";
            foreach (IPAddress address in addresses.Records) exchangers.Add(new MailExchanger(host, 0, address));
        }
        if (exchangers.Count > 0) return DestinationLookup.To(exchangers);
        if (temporary is not null) return DestinationLookup.Failed(Temporary(DnsTemporary, temporary));
        return DestinationLookup.Failed(Permanent(SmtpReplyCode.MailboxUnavailable, new EnhancedStatusCode(5, 4, 4), $"next hop {host} has no address"));
    }

    /// <summary>MX records in the order to try (RFC 5321 §5.1): lower preference first; "If there are multiple
    /// destinations with the same preference and there is no clear reason to favor one (e.g., by recognition of an
    /// easily reached address), then the sender-SMTP MUST randomize them to spread the load across multiple mail
    /// exchangers for a specific organization."</summary>
    /// <param name="records">The MX records.</param>
    /// <param name="random">The source of the random order among equals.</param>
    /// <returns>The records, ordered.</returns>
    public static IReadOnlyList<MxRecord> Order(IReadOnlyList<MxRecord> records, Random random)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(random);
        MxRecord[] ordered = records.OrderBy(r => r.Preference).ToArray();
        for (int start = 0; start < ordered.Length;)
        {
            int end = start;
            while (end < ordered.Length && ordered[end].Preference == ordered[start].Preference) end++;
            random.Shuffle(ordered.AsSpan(start, end - start));
            start = end;
        }
        return ordered;
    }

    /// <summary>5.1.2 Bad destination system address (RFC 3463 §3.2).</summary>
    private static readonly EnhancedStatusCode BadDestinationSystem = new(5, 1, 2);

    /// <summary>4.4.3 Directory server failure (RFC 3463 §3.5): DNS did not answer.</summary>
    private static readonly EnhancedStatusCode DnsTemporary = new(4, 4, 3);

    private static SmtpReply Permanent(SmtpReplyCode code, EnhancedStatusCode status, string text) => new(code, status, text);

    private static SmtpReply Temporary(EnhancedStatusCode status, string text) => new(SmtpReplyCode.LocalError, status, text);
}
