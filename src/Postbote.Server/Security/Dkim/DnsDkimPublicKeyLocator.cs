using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Postbote.Dns;

namespace Postbote.Security.Dkim;

/// <summary>
/// Finds DKIM public keys through Postbote's resolver (RFC 6376 §3.6.2.2: "All DKIM keys are stored in a subdomain named
/// "_domainkey". Given a DKIM-Signature field with a "d=" tag of "example.com" and an "s=" tag of "foo.bar", the DNS query
/// will be for "foo.bar._domainkey.example.com"."), so answers share the resolver's cache and its configured servers.
/// The record is looked up for every signature (its freshness is the resolver cache's TTL), but a record text already
/// turned into a key is not parsed again: reading an RSA key validates its modulus with probabilistic primality tests,
/// about 20 ms of CPU for a 2048-bit key, spent again for every message before.
/// </summary>
public sealed class DnsDkimPublicKeyLocator : DkimPublicKeyLocatorBase
{
    /// <summary>The most parsed keys kept (count); when full, all are dropped and parsed again as they come.</summary>
    public const int MaxParsedKeys = RecordTextCache<DkimPublicKey>.Capacity;

    private readonly IDnsResolver _dns;
    private readonly RecordTextCache<AsymmetricKeyParameter> _parsed = new();
    private readonly RecordTextCache<DkimPublicKey> _keys = new();

    /// <summary>Creates the locator.</summary>
    /// <param name="dns">The resolver.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dns"/> is <c>null</c>.</exception>
    public DnsDkimPublicKeyLocator(IDnsResolver dns)
    {
        ArgumentNullException.ThrowIfNull(dns);
        _dns = dns;
    }

    /// <summary>Synchronous lookups are not offered: the verifier is always called asynchronously.</summary>
    /// <param name="methods">The query methods (<c>dns/txt</c>).</param>
    /// <param name="domain">The signing domain.</param>
    /// <param name="selector">The selector.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("DKIM keys are looked up asynchronously");

    /// <summary>Looks up <c>selector._domainkey.domain</c> TXT and reads the key record (RFC 6376 §3.6.1) into
    /// MimeKit's form, for MimeKit's ARC verifier.</summary>
    /// <param name="methods">The query methods; only <c>dns/txt</c> exists (RFC 6376 §3.5 q=).</param>
    /// <param name="domain">The signing domain (d=).</param>
    /// <param name="selector">The selector (s=).</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The key.</returns>
    /// <exception cref="DkimKeyException">No key record, or the lookup failed (<see cref="DkimKeyException.Temporary"/>).</exception>
    /// <exception cref="MimeKit.ParseException">The key record does not parse.</exception>
    public override async Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector,
        CancellationToken cancellationToken = default)
    {
        string text = await RecordAsync(domain, selector, cancellationToken).ConfigureAwait(false);
        // A record that does not parse throws here and is not kept.
        return _parsed.Get(text, GetPublicKey);
    }

    /// <summary>Looks up <c>selector._domainkey.domain</c> TXT and reads the key record (RFC 6376 §3.6.1) for
    /// <see cref="DkimSignatureVerifier"/>.</summary>
    /// <param name="domain">The signing domain (d=).</param>
    /// <param name="selector">The selector (s=).</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The key.</returns>
    /// <exception cref="DkimKeyException">No key record, the lookup failed (<see cref="DkimKeyException.Temporary"/>), or
    /// the record is unusable.</exception>
    public async Task<DkimPublicKey> LocateKeyAsync(string domain, string selector, CancellationToken cancellationToken)
    {
        string text = await RecordAsync(domain, selector, cancellationToken).ConfigureAwait(false);
        return _keys.Get(text, DkimPublicKey.Parse);
    }

    private async Task<string> RecordAsync(string domain, string selector, CancellationToken cancellationToken)
    {
        string name = selector + "._domainkey." + domain;
        DnsResult<TxtRecord> r;
        try
        {
            r = await _dns.LookupTxtAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException)
        {
            throw new DkimKeyException($"{name} is not a domain name", temporary: false);
        }
        if (r.Outcome == DnsOutcome.TemporaryFailure) throw new DkimKeyException($"TXT {name}: {r.Failure}", temporary: true);
        // RFC 6376 §6.1.2: "If the query for the public key fails because the corresponding key record does not exist,
        // the Verifier MUST immediately return PERMFAIL (no key for signature)."
        foreach (TxtRecord record in r.Records)
            if (record.Text.Contains("p=", StringComparison.Ordinal)) return record.Text;
        throw new DkimKeyException($"no key record at {name}", temporary: false);
    }
}
