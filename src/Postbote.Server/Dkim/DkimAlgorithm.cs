namespace Postbote.Dkim;

/// <summary>The signing algorithms Postbote signs with (the <c>a=</c> tag of RFC 6376 §3.5).</summary>
public enum DkimAlgorithm
{
    /// <summary><c>rsa-sha256</c> (RFC 6376 §3.3.1): RSASSA-PKCS1-v1_5 with SHA-256; keys of 2048 bits by default.</summary>
    RsaSha256,

    /// <summary><c>ed25519-sha256</c> (RFC 8463 §3): PureEdDSA over the SHA-256 hash of the signed data.</summary>
    Ed25519Sha256,
}
