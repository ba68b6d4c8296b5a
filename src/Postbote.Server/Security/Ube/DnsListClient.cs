using System.Net;
using Microsoft.Extensions.Logging;
using Postbote.Dns;

namespace Postbote.Security.Ube;

/// <summary>
/// Asks DNS lists (RFC 5782) whether a client address is listed, through the server's resolver (its cache keeps the
/// answers for their TTL, so the RCPTs of one session ask the network once). A DNS failure is never a listing: the
/// lookup is logged and the client counts as not listed (as in Postfix: a list that does not answer does not stop mail).
/// </summary>
public sealed class DnsListClient
{
    private readonly IDnsResolver _dns;
    private readonly ILogger _log;

    /// <summary>Creates the client.</summary>
    /// <param name="dns">The resolver.</param>
    /// <param name="log">Where failed lookups are logged.</param>
    public DnsListClient(IDnsResolver dns, ILogger log)
    {
        _dns = dns;
        _log = log;
    }

    /// <summary>Looks the client up in one list: an A query at <see cref="DnsListZone.QueryName"/>, and when it lists
    /// the client, the TXT record at the same name for the reason.</summary>
    /// <param name="list">The list.</param>
    /// <param name="client">The client's address.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <returns>The listing, or <c>null</c> when not listed or the lookup failed.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<DnsListing?> LookupAsync(DnsListZone list, IPAddress client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(list);
        string name = list.QueryName(client);
        DnsResult<IPAddress> a = await _dns.LookupAAsync(name, cancellationToken).ConfigureAwait(false);
        if (a.Outcome == DnsOutcome.TemporaryFailure)
        {
            _log.LogInformation("DNS list {Zone}: lookup of {Name} failed ({Failure}); client [{Client}] taken as not listed",
                list.Zone, name, a.Failure, client);
            return null;
        }
        IPAddress? answer = a.Records.FirstOrDefault(list.Matches);
        if (answer is null) return null;
        DnsResult<TxtRecord> txt = await _dns.LookupTxtAsync(name, cancellationToken).ConfigureAwait(false);
        string? text = txt.Outcome == DnsOutcome.Found ? txt.Records[0].Text : null;
        return new DnsListing(list, answer, text);
    }

    /// <summary>Asks several lists at once.</summary>
    /// <param name="lists">The lists.</param>
    /// <param name="client">The client's address.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <returns>The listings, in the order of <paramref name="lists"/>; empty when none lists the client.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<IReadOnlyList<DnsListing>> LookupAllAsync(IList<DnsListZone> lists, IPAddress client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lists);
        if (lists.Count == 0) return [];
        if (client.IsIPv4MappedToIPv6) client = client.MapToIPv4();
        DnsListing?[] found = await Task.WhenAll(lists.Select(l => LookupAsync(l, client, cancellationToken))).ConfigureAwait(false);
        return found.OfType<DnsListing>().ToList();
    }
}
