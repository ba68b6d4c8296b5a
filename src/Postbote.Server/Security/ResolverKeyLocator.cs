using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Postbote.Dns;

namespace Postbote.Security;

/// <summary>
/// Finds the public key of a DKIM or ARC signature for MimeKit's verifiers through our resolver (never the machine's):
/// the TXT record at <c>selector._domainkey.domain</c> (RFC 6376 §3.6.2.1), its strings joined.
/// </summary>
public sealed class ResolverKeyLocator : DkimPublicKeyLocatorBase
{
    private readonly IDnsResolver _dns;

    /// <summary>Creates the locator.</summary>
    /// <param name="dns">The resolver.</param>
    public ResolverKeyLocator(IDnsResolver dns)
    {
        ArgumentNullException.ThrowIfNull(dns);
        _dns = dns;
    }

    /// <summary>Looks the key up.</summary>
    /// <param name="methods">The query methods of the signature's <c>q=</c> tag (only <c>dns/txt</c> exists).</param>
    /// <param name="domain">The signing domain.</param>
    /// <param name="selector">The selector.</param>
    /// <param name="cancellationToken">Stops the lookup.</param>
    /// <returns>The public key.</returns>
    /// <exception cref="InvalidOperationException">No key record (NXDOMAIN, no TXT, a DNS failure).</exception>
    /// <exception cref="MimeKit.ParseException">The record holds no usable key.</exception>
    public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
        LocatePublicKeyAsync(methods, domain, selector, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Looks the key up.</summary>
    /// <param name="methods">The query methods of the signature's <c>q=</c> tag (only <c>dns/txt</c> exists).</param>
    /// <param name="domain">The signing domain.</param>
    /// <param name="selector">The selector.</param>
    /// <param name="cancellationToken">Stops the lookup.</param>
    /// <returns>The public key.</returns>
    /// <exception cref="InvalidOperationException">No key record (NXDOMAIN, no TXT, a DNS failure).</exception>
    /// <exception cref="MimeKit.ParseException">The record holds no usable key.</exception>
    public override async Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default)
    {
        string name = $"{selector}._domainkey.{domain}";
        DnsResult<TxtRecord> result = await _dns.LookupTxtAsync(name, cancellationToken).ConfigureAwait(false);
        if (result.Outcome != DnsOutcome.Found || result.Records.Count == 0)
            throw new InvalidOperationException($"no DKIM key at {name}: {result.Failure ?? result.Outcome.ToString()}");
        // RFC 6376 §3.6.2.2: the strings of one TXT record are joined; of several records, the one with a key is taken.
        foreach (TxtRecord r in result.Records)
        {
            if (r.Text.Contains("p=", StringComparison.Ordinal)) return GetPublicKey(r.Text);
        }
        return GetPublicKey(result.Records[0].Text);
    }
}
