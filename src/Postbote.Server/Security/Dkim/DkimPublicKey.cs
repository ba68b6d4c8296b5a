using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;

namespace Postbote.Security.Dkim;

/// <summary>
/// A DKIM key record (RFC 6376 §3.6.1) read into a key a signature can be checked with: RSA through .NET's
/// <see cref="RSA"/> (OpenSSL on Linux), Ed25519 (RFC 8463) through BouncyCastle, which .NET lacks. Immutable and
/// thread-safe: one instance serves every message signed with it; it is never disposed, since a cache may still hand it
/// out (the native key is released by its finalizer).
/// </summary>
public sealed class DkimPublicKey
{
    /// <summary>The smallest RSA key accepted, in bits (RFC 8301 §3.2: "Verifiers MUST NOT consider signatures using RSA
    /// keys of less than 1024 bits as valid signatures").</summary>
    public const int MinimumRsaBits = 1024;

    private readonly RSA? _rsa;
    private readonly Ed25519PublicKeyParameters? _ed25519;

    private DkimPublicKey(RSA? rsa, Ed25519PublicKeyParameters? ed25519, IReadOnlyList<string> hashes, bool strict)
    {
        _rsa = rsa;
        _ed25519 = ed25519;
        HashAlgorithms = hashes;
        Strict = strict;
    }

    /// <summary>The key type: <c>rsa</c> or <c>ed25519</c> (the record's <c>k=</c>).</summary>
    public string KeyType => _rsa is not null ? "rsa" : "ed25519";

    /// <summary>The hash algorithms the record allows (<c>h=</c>), lower case; empty when it names none (all allowed).</summary>
    public IReadOnlyList<string> HashAlgorithms { get; }

    /// <summary>Whether the record has the <c>t=s</c> flag: "the "i=" domain MUST NOT be a subdomain of "d="".</summary>
    public bool Strict { get; }

    /// <summary>The RSA key size in bits, or 0 for Ed25519.</summary>
    public int RsaBits => _rsa?.KeySize ?? 0;

    /// <summary>Reads a key record (RFC 6376 §3.6.1 tags <c>v h k p s t</c>; §6.1.2 on what makes it unusable).</summary>
    /// <param name="record">The TXT record's text, its strings joined.</param>
    /// <returns>The key.</returns>
    /// <exception cref="DkimKeyException">The record is unusable (permanent): wrong version, not for email, revoked
    /// (empty <c>p=</c>), an unknown key type, a key that does not parse, or an RSA key under
    /// <see cref="MinimumRsaBits"/>.</exception>
    public static DkimPublicKey Parse(string record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Dictionary<string, string> tags = DkimTags.Parse(record) ?? throw new DkimKeyException("key record has a tag twice or is not a tag list");
        // "v= ... If specified, this tag MUST be set to "DKIM1" (without the quotes)."
        if (tags.TryGetValue("v", out string? v) && v != "DKIM1") throw new DkimKeyException($"key record version {v} is not DKIM1");
        // "s= Service Type ... "*" matches all service types ... "email"".
        if (tags.TryGetValue("s", out string? s) && !DkimTags.List(s).Any(x => x is "*" or "email"))
            throw new DkimKeyException("key record is not for email (s=" + s + ")");
        if (!tags.TryGetValue("p", out string? p)) throw new DkimKeyException("key record has no p=");
        // "An empty value means that this public key has been revoked."
        p = DkimTags.WithoutWhitespace(p);
        if (p.Length == 0) throw new DkimKeyException("key revoked");
        byte[] der;
        try
        {
            der = Convert.FromBase64String(p);
        }
        catch (FormatException)
        {
            throw new DkimKeyException("key record p= is not base64");
        }
        IReadOnlyList<string> hashes = tags.TryGetValue("h", out string? h) ? DkimTags.List(h).Select(x => x.ToLowerInvariant()).ToList() : [];
        bool strict = tags.TryGetValue("t", out string? t) && DkimTags.List(t).Contains("s");
        string k = tags.TryGetValue("k", out string? kv) ? kv.ToLowerInvariant() : "rsa";
        switch (k)
        {
            case "rsa":
                return new DkimPublicKey(ReadRsa(der), null, hashes, strict);
            case "ed25519":
                // RFC 8463 §4.2: "The "p=" value is the base64 encoding of the 32-octet public key".
                if (der.Length != Ed25519PublicKeyParameters.KeySize) throw new DkimKeyException($"Ed25519 key of {der.Length} octets, not 32");
                return new DkimPublicKey(null, new Ed25519PublicKeyParameters(der), hashes, strict);
            default:
                throw new DkimKeyException("unknown key type k=" + k);
        }
    }

    /// <summary>An RSA key as DKIM publishes it: a SubjectPublicKeyInfo (RFC 6376 §3.6.1: "an ASN.1 DER-encoded
    /// [ITU-X660-1997] RSAPublicKey ... wrapped in a SubjectPublicKeyInfo"), or a bare RSAPublicKey as some publish.</summary>
    private static RSA ReadRsa(byte[] der)
    {
        var rsa = RSA.Create();
        try
        {
            try
            {
                rsa.ImportSubjectPublicKeyInfo(der, out _);
            }
            catch (CryptographicException)
            {
                rsa.ImportRSAPublicKey(der, out _);
            }
        }
        catch (CryptographicException e)
        {
            rsa.Dispose();
            throw new DkimKeyException("key record p= is not an RSA public key: " + e.Message);
        }
        if (rsa.KeySize < MinimumRsaBits)
        {
            int bits = rsa.KeySize;
            rsa.Dispose();
            throw new DkimKeyException($"RSA key of {bits} bits; at least {MinimumRsaBits} are required (RFC 8301)");
        }
        return rsa;
    }

    /// <summary>Checks a signature over the SHA-256 hash of the signed header data: RSASSA-PKCS1-v1_5 for RSA (RFC 6376
    /// §3.3.1), PureEdDSA over the hash for Ed25519 (RFC 8463 §3: "The Ed25519-SHA256 signing algorithm computes a
    /// message hash as defined in Section 3 of [RFC6376] using SHA-256 as the hash-alg. It signs the hash with the
    /// PureEdDSA variant Ed25519").</summary>
    /// <param name="sha256">The 32-byte hash.</param>
    /// <param name="signature">The decoded <c>b=</c> value.</param>
    /// <returns>Whether the signature is valid.</returns>
    public bool Verify(ReadOnlySpan<byte> sha256, ReadOnlySpan<byte> signature)
    {
        if (_rsa is not null)
        {
            try
            {
                return _rsa.VerifyHash(sha256, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            }
            catch (CryptographicException)
            {
                return false;
            }
        }
        if (signature.Length != Ed25519PublicKeyParameters.KeySize * 2) return false;
        return _ed25519!.Verify(Org.BouncyCastle.Math.EC.Rfc8032.Ed25519.Algorithm.Ed25519, null, sha256.ToArray(), 0, sha256.Length,
            signature.ToArray(), 0);
    }
}
