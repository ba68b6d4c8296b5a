namespace Postbote.Dkim;

/// <summary>A new DKIM key pair as <c>postbote dkim keygen</c> writes and prints it.</summary>
/// <param name="PrivateKeyPem">The private key, PEM-encoded PKCS#8 (<c>-----BEGIN PRIVATE KEY-----</c>, RFC 5958).</param>
/// <param name="PublicKey">The <c>p=</c> value of the key record: base64 of the SubjectPublicKeyInfo for RSA (RFC 6376
/// §3.6.1), base64 of the raw 32-byte public key for Ed25519 (RFC 8463 §4.2).</param>
/// <param name="KeyType">The <c>k=</c> value: <c>rsa</c> or <c>ed25519</c>.</param>
public sealed record DkimGeneratedKey(string PrivateKeyPem, string PublicKey, string KeyType)
{
    /// <summary>The TXT record to publish, in zone-file syntax: <c>selector._domainkey.domain. IN TXT "v=DKIM1; k=…; p=…"</c>,
    /// split into character-strings of at most 255 octets (RFC 1035 §3.3.14; RFC 6376 §3.6.2.2: "TXT RRs MUST be
    /// unique for a particular selector name; that is, if there are multiple records in an RRset, the results are
    /// undefined", so the strings are of one record, which a verifier joins).</summary>
    /// <param name="domain">The signing domain.</param>
    /// <param name="selector">The selector.</param>
    /// <returns>One line without a line end.</returns>
    public string TxtRecord(string domain, string selector)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(selector);
        string value = $"v=DKIM1; k={KeyType}; p={PublicKey}";
        var parts = new List<string>();
        for (int i = 0; i < value.Length; i += 255) parts.Add("\"" + value.Substring(i, Math.Min(255, value.Length - i)) + "\"");
        return $"{selector}._domainkey.{domain.TrimEnd('.')}. IN TXT {string.Join(' ', parts)}";
    }
}
