using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;

namespace Postbote.Dkim;

/// <summary>Makes new DKIM keys: RSA of 2048 bits (RFC 8301 §3.2: "Signers MUST use RSA keys of at least 1024 bits for
/// all keys. Signers SHOULD use RSA keys of at least 2048 bits.") or Ed25519 (RFC 8463).</summary>
public static class DkimKeyGenerator
{
    /// <summary>The RSA key size keygen uses: 2048 bits.</summary>
    public const int RsaKeyBits = 2048;

    /// <summary>Makes a key pair.</summary>
    /// <param name="algorithm">RSA-SHA256 or Ed25519-SHA256.</param>
    /// <returns>The private key as PKCS#8 PEM and the public key for the TXT record.</returns>
    public static DkimGeneratedKey Generate(DkimAlgorithm algorithm)
    {
        if (algorithm == DkimAlgorithm.RsaSha256)
        {
            using RSA rsa = RSA.Create(RsaKeyBits);
            return new DkimGeneratedKey(rsa.ExportPkcs8PrivateKeyPem() + "\n", Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()), "rsa");
        }
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new Org.BouncyCastle.Security.SecureRandom()));
        var pair = generator.GenerateKeyPair();
        byte[] pkcs8 = PrivateKeyInfoFactory.CreatePrivateKeyInfo(pair.Private).GetDerEncoded();
        string pem = PemEncoding.WriteString("PRIVATE KEY", pkcs8) + "\n";
        byte[] raw = ((Ed25519PublicKeyParameters)pair.Public).GetEncoded();
        return new DkimGeneratedKey(pem, Convert.ToBase64String(raw), "ed25519");
    }
}
