using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// A certificate authority made for one test run (ECDSA P-256), which issues server certificates for a host name and
/// checks a presented certificate against itself as the only trusted root.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private TestCertificateAuthority(X509Certificate2 certificate)
    {
        Certificate = certificate;
    }

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>A new CA named <paramref name="name"/>, valid from an hour ago for a day.</summary>
    public static TestCertificateAuthority Create(string name = "Postbote Test CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return new TestCertificateAuthority(request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1)));
    }

    /// <summary>
    /// A server certificate (serverAuth, DNS SAN <paramref name="hostName"/>) with its private key: ECDSA P-256, or RSA
    /// 2048 when <paramref name="rsa"/> (the ECDHE-RSA cipher suites need an RSA certificate).
    /// </summary>
    public X509Certificate2 Issue(string hostName, bool rsa = false)
    {
        using var ecKey = rsa ? null : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsaKey = rsa ? RSA.Create(2048) : null;
        var request = rsaKey is not null
            ? new CertificateRequest($"CN={hostName}", rsaKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest($"CN={hostName}", ecKey!, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        // RSA key exchange (the legacy TLS_RSA_* suites) needs keyEncipherment besides digitalSignature.
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            rsa ? X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(
            new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var now = DateTimeOffset.UtcNow;
        // The CA key is ECDSA: an RSA request is signed through an explicit ECDSA signature generator.
        using var caKey = Certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the CA has no ECDSA key");
        using var issued = request.Create(
            Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), now.AddMinutes(-30), now.AddHours(12), serial);
        return rsaKey is not null ? issued.CopyWithPrivateKey(rsaKey) : issued.CopyWithPrivateKey(ecKey!);
    }

    /// <summary>Writes <paramref name="certificate"/> (PEM) and its private key (PKCS#8 PEM) to the two files.</summary>
    public static void WritePem(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(certificatePath)!);
        Directory.CreateDirectory(Path.GetDirectoryName(keyPath)!);
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new ArgumentException("no ECDSA or RSA private key", nameof(certificate));

        // Written beside the target and renamed over it, so a reload never reads half a file.
        WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        WriteAtomically(certificatePath, certificate.ExportCertificatePem() + "\n");
    }

    /// <summary>Writes the CA certificate as PEM (for clients such as openssl and Python that take a CA file).</summary>
    public void WriteCaPem(string path) => File.WriteAllText(path, Certificate.ExportCertificatePem() + "\n");

    /// <summary>
    /// Builds the chain of <paramref name="certificate"/> with this CA as the only trust anchor (CustomRootTrust, no
    /// system roots, no revocation check) and checks that it names <paramref name="hostName"/>; null when valid, else why not.
    /// </summary>
    public string? Verify(X509Certificate2 certificate, X509Chain? presented, string hostName)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (!chain.Build(certificate))
        {
            return "chain does not build to the test CA: " +
                string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status} {s.StatusInformation.Trim()}"));
        }

        var root = chain.ChainElements[^1].Certificate;
        if (!root.RawDataMemory.Span.SequenceEqual(Certificate.RawDataMemory.Span))
        {
            return $"chain ends at {root.Subject}, not at the test CA";
        }

        if (!certificate.MatchesHostname(hostName))
        {
            return $"certificate {certificate.Subject} does not name {hostName}";
        }

        return null;
    }

    /// <summary>A validation callback that accepts only certificates <see cref="Verify"/> accepts; failures go to <paramref name="failures"/>.</summary>
    public RemoteCertificateValidationCallback Validator(string hostName, List<string> failures) =>
        (_, certificate, chain, _) =>
        {
            if (certificate is null)
            {
                lock (failures)
                {
                    failures.Add("no certificate presented");
                }

                return false;
            }

            var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            var problem = Verify(leaf, chain, hostName);
            if (problem is not null)
            {
                lock (failures)
                {
                    failures.Add(problem);
                }
            }

            return problem is null;
        };

    /// <inheritdoc/>
    public void Dispose() => Certificate.Dispose();

    private static void WriteAtomically(string path, string text)
    {
        var temp = path + ".new";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
