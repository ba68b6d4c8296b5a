using System.Net;

namespace Postbote.Dns;

/// <summary>
/// Looks up the DNS records that relaying (MX, A, AAAA; RFC 5321 §5.1) and sender checks (TXT for SPF and DKIM, PTR)
/// need, through the configured recursive resolvers, with a TTL cache. Every lookup returns one of four outcomes
/// (<see cref="DnsOutcome"/>); a DNS failure is a result, never an exception.
/// </summary>
/// <remarks>TLSA (RFC 6698, for DANE) is the next record type: it is one more method here and one more record mapper in
/// <see cref="DnsResolver"/>; the cache and the outcome handling take any type.</remarks>
public interface IDnsResolver
{
    /// <summary>The MX RRset of a domain, ordered by preference (and by name among equal preferences: the caller
    /// shuffles those, RFC 5321 §5.1). A null MX (RFC 7505) is found as one record whose
    /// <see cref="MxRecord.IsNullMx"/> is true.</summary>
    /// <param name="domain">The domain: a host name, U-labels allowed (sent as A-labels), trailing dot optional.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException"><paramref name="domain"/> is not a domain name.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<DnsResult<MxRecord>> LookupMxAsync(string domain, CancellationToken cancellationToken = default);

    /// <summary>The IPv4 addresses of a name (A records, RFC 1035 §3.4.1), following CNAMEs as the resolver does.</summary>
    /// <param name="name">The host name.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a domain name.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<DnsResult<IPAddress>> LookupAAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The IPv6 addresses of a name (AAAA records, RFC 3596 §2).</summary>
    /// <param name="name">The host name.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a domain name.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<DnsResult<IPAddress>> LookupAaaaAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The TXT records of a name (RFC 1035 §3.3.14), each with its character-strings.</summary>
    /// <param name="name">The name, e.g. a domain for SPF or <c>selector._domainkey.example.com</c> for DKIM.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a domain name.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<DnsResult<TxtRecord>> LookupTxtAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The host names of an address (PTR records under <c>in-addr.arpa</c>, RFC 1035 §3.5, or <c>ip6.arpa</c>,
    /// RFC 3596 §2.5), lower case, without the trailing dot.</summary>
    /// <param name="address">An IPv4 or IPv6 address.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is <c>null</c>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<DnsResult<string>> LookupPtrAsync(IPAddress address, CancellationToken cancellationToken = default);

    /// <summary>The IPv4 addresses of a name, checking the name by <paramref name="syntax"/> (SPF's <c>a</c> and
    /// <c>exists</c> on names built from macros, RFC 7208 §5.3, §5.7).</summary>
    /// <param name="name">The name.</param>
    /// <param name="syntax">Which names are accepted.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a name of that syntax.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<DnsResult<IPAddress>> LookupAAsync(string name, DnsNameSyntax syntax, CancellationToken cancellationToken = default);

    /// <summary>The IPv6 addresses of a name, checking the name by <paramref name="syntax"/>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="syntax">Which names are accepted.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a name of that syntax.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<DnsResult<IPAddress>> LookupAaaaAsync(string name, DnsNameSyntax syntax, CancellationToken cancellationToken = default);

    /// <summary>The MX RRset of a name, checking the name by <paramref name="syntax"/> (SPF's <c>mx</c>, RFC 7208 §5.4).</summary>
    /// <param name="domain">The name.</param>
    /// <param name="syntax">Which names are accepted.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException"><paramref name="domain"/> is not a name of that syntax.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<DnsResult<MxRecord>> LookupMxAsync(string domain, DnsNameSyntax syntax, CancellationToken cancellationToken = default);

    /// <summary>The TXT records of a name, checking the name by <paramref name="syntax"/> (SPF records and explanations
    /// at names built from macros, RFC 7208 §4.4, §6.2).</summary>
    /// <param name="name">The name.</param>
    /// <param name="syntax">Which names are accepted.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a name of that syntax.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<DnsResult<TxtRecord>> LookupTxtAsync(string name, DnsNameSyntax syntax, CancellationToken cancellationToken = default);
}
