using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.Security;

namespace Postbote.Dkim;

/// <summary>
/// One private key that signs for a domain under a selector (RFC 6376 §3.1: the public key is found at
/// <c>selector._domainkey.domain</c>): an RSA key (<c>rsa-sha256</c>) or an Ed25519 key (<c>ed25519-sha256</c>,
/// RFC 8463). Immutable; signing is thread-safe.
/// </summary>
public sealed class DkimSigningKey
{
    private readonly AsymmetricKeyParameter _key;

    private DkimSigningKey(string domain, string selector, DkimAlgorithm algorithm, AsymmetricKeyParameter key, string path)
    {
        Domain = domain;
        Selector = selector;
        Algorithm = algorithm;
        _key = key;
        Path = path;
    }

    /// <summary>The signing domain (<c>d=</c>), lower case, without a trailing dot.</summary>
    public string Domain { get; }

    /// <summary>The selector (<c>s=</c>).</summary>
    public string Selector { get; }

    /// <summary>The algorithm the key signs with (<c>a=</c>).</summary>
    public DkimAlgorithm Algorithm { get; }

    /// <summary>The file the key was read from.</summary>
    public string Path { get; }

    /// <summary>The private key as BouncyCastle holds it (for MimeKit's ARC signer).</summary>
    internal AsymmetricKeyParameter PrivateKey => _key;

    /// <summary>The <c>a=</c> tag value: <c>rsa-sha256</c> or <c>ed25519-sha256</c>.</summary>
    public string AlgorithmName => Algorithm == DkimAlgorithm.RsaSha256 ? "rsa-sha256" : "ed25519-sha256";

    /// <summary>Reads a private key from a PEM file: PKCS#8 (<c>PRIVATE KEY</c>, RSA or Ed25519) or PKCS#1
    /// (<c>RSA PRIVATE KEY</c>).</summary>
    /// <param name="path">The PEM file.</param>
    /// <param name="domain">The signing domain.</param>
    /// <param name="selector">The selector.</param>
    /// <param name="algorithm">The algorithm the configuration asks for, or <c>null</c> to take the key's.</param>
    /// <returns>The key.</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="FormatException">The file holds no private key, a key of another type than
    /// <paramref name="algorithm"/>, or an RSA key shorter than 1024 bits (RFC 8301 §3.2: "Verifiers MUST NOT consider
    /// signatures using RSA keys of less than 1024 bits as valid signatures").</exception>
    public static DkimSigningKey Load(string path, string domain, string selector, DkimAlgorithm? algorithm = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(selector);
        string text = File.ReadAllText(path);
        object? read;
        try
        {
            using var reader = new StringReader(text);
            read = new PemReader(reader).ReadObject();
        }
        catch (Exception e) when (e is IOException or InvalidCastException or ArgumentException or InvalidOperationException or SecurityUtilityException)
        {
            throw new FormatException($"not a PEM private key ({e.Message})", e);
        }
        AsymmetricKeyParameter? key = read switch
        {
            AsymmetricCipherKeyPair pair => pair.Private,
            AsymmetricKeyParameter { IsPrivate: true } k => k,
            _ => null,
        };
        DkimAlgorithm found = key switch
        {
            RsaKeyParameters => DkimAlgorithm.RsaSha256,
            Ed25519PrivateKeyParameters => DkimAlgorithm.Ed25519Sha256,
            null => throw new FormatException("no PEM private key (PRIVATE KEY or RSA PRIVATE KEY) in the file"),
            _ => throw new FormatException($"a {key.GetType().Name} key; DKIM signs with RSA or Ed25519 keys"),
        };
        if (algorithm is { } wanted && wanted != found)
            throw new FormatException($"the file holds an {(found == DkimAlgorithm.RsaSha256 ? "RSA" : "Ed25519")} key, not the configured algorithm");
        if (key is RsaKeyParameters rsa && rsa.Modulus.BitLength < 1024)
            throw new FormatException($"the RSA key has {rsa.Modulus.BitLength} bits; DKIM needs at least 1024 (2048 recommended)");
        return new DkimSigningKey(domain.TrimEnd('.').ToLowerInvariant(), selector, found, key, path);
    }

    /// <summary>Signs the canonicalized header data of a signature (RFC 6376 §3.7): RSASSA-PKCS1-v1_5 over its SHA-256
    /// hash, or, for Ed25519, PureEdDSA over the SHA-256 hash (RFC 8463 §3: "the Ed25519-SHA256 signing algorithm
    /// computes a message hash as defined in Section 3 of [RFC6376] using SHA-256 as the hash-alg. It signs the hash
    /// with the PureEdDSA variant Ed25519").</summary>
    /// <param name="data">The canonicalized header fields and the signature field with an empty <c>b=</c>.</param>
    /// <returns>The signature, to be base64-encoded into <c>b=</c>.</returns>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        if (Algorithm == DkimAlgorithm.RsaSha256)
        {
            var signer = new RsaDigestSigner(new Org.BouncyCastle.Crypto.Digests.Sha256Digest());
            signer.Init(true, _key);
            signer.BlockUpdate(data);
            return signer.GenerateSignature();
        }
        byte[] hash = SHA256.HashData(data);
        var ed = new Ed25519Signer();
        ed.Init(true, _key);
        ed.BlockUpdate(hash, 0, hash.Length);
        return ed.GenerateSignature();
    }
}
