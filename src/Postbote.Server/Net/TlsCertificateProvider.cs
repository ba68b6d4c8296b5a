using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Postbote.Net;

/// <summary>
/// The server's TLS certificate and handshake options: TLS 1.2 and 1.3 only (RFC 8996 retires 1.0 and 1.1), AEAD cipher
/// suites only unless a listener asks for the legacy ones (<see cref="TlsCipherSuites"/>), the certificate chain and key from PEM files, reloaded on demand (SIGHUP) without touching open sessions: each new handshake
/// takes the options current at that moment. Without configured files, a self-signed certificate for the host name is
/// created in the data directory on first start.
/// </summary>
public sealed class TlsCertificateProvider
{
    private readonly string _certificatePath;
    private readonly string _keyPath;
    private readonly ILogger _log;
    private volatile State _state;

    private sealed record State(SslServerAuthenticationOptions Options, SslServerAuthenticationOptions LegacyOptions,
        X509Certificate2 Certificate, byte[] EndPointBinding);

    /// <summary>Loads the certificate, creating a self-signed one when asked to and the files do not exist.</summary>
    /// <param name="certificatePath">PEM file with the certificate, then any intermediate certificates.</param>
    /// <param name="keyPath">PEM file with the private key (PKCS#8, RSA or EC).</param>
    /// <param name="hostName">The host name for a self-signed certificate (subject CN and DNS SAN).</param>
    /// <param name="createSelfSigned">Create a self-signed certificate at the two paths when the certificate file is missing.</param>
    /// <param name="log">Where loading, creation and reloads are logged.</param>
    /// <exception cref="CryptographicException">The files do not hold a usable certificate and key.</exception>
    /// <exception cref="IOException">The files cannot be read or written.</exception>
    public TlsCertificateProvider(string certificatePath, string keyPath, string hostName, bool createSelfSigned, ILogger log)
    {
        _certificatePath = certificatePath;
        _keyPath = keyPath;
        _log = log;
        if (createSelfSigned && !File.Exists(certificatePath))
        {
            CreateSelfSigned(certificatePath, keyPath, hostName);
            log.LogWarning("created a self-signed TLS certificate for {HostName} in {Path}; configure [tls] certificate and key for a trusted one",
                hostName, Path.GetFullPath(certificatePath));
        }
        _state = Load();
        log.LogInformation("TLS certificate {Subject}, valid until {NotAfter:yyyy-MM-dd}, from {Path}", _state.Certificate.Subject,
            _state.Certificate.NotAfter, Path.GetFullPath(certificatePath));
    }

    /// <summary>The handshake options for a new connection: AEAD cipher suites only (<see cref="TlsCipherSuites.Aead"/>).</summary>
    public SslServerAuthenticationOptions ServerOptions => _state.Options;

    /// <summary>The handshake options for a new connection on a listener.</summary>
    /// <param name="legacyCiphers">Whether the listener also accepts the CBC and RSA key-exchange suites of
    /// <see cref="TlsCipherSuites.Legacy"/> (MX listeners with <c>[tls] legacy_ciphers_on_mx</c>).</param>
    /// <returns>The options current at this moment (a reload replaces both sets).</returns>
    public SslServerAuthenticationOptions ServerOptionsFor(bool legacyCiphers) => legacyCiphers ? _state.LegacyOptions : _state.Options;

    /// <summary>The current server certificate (leaf).</summary>
    public X509Certificate2 Certificate => _state.Certificate;

    /// <summary>The <c>tls-server-end-point</c> channel-binding data of RFC 5929 §4.1 for the current certificate: the hash
    /// of its DER encoding with the certificate's signature hash (SHA-256 when that is MD5 or SHA-1).</summary>
    public byte[] EndPointBinding => _state.EndPointBinding;

    /// <summary>Reads the PEM files again; on failure the previous certificate stays in use and the error is logged.</summary>
    /// <returns><c>true</c> when the new certificate was loaded.</returns>
    public bool Reload()
    {
        try
        {
            _state = Load();
            _log.LogInformation("TLS certificate reloaded: {Subject}, valid until {NotAfter:yyyy-MM-dd}", _state.Certificate.Subject, _state.Certificate.NotAfter);
            return true;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            _log.LogError("TLS certificate reload failed, keeping the previous one: {Error}", e.Message);
            return false;
        }
    }

    private State Load()
    {
        using var pemLeaf = X509Certificate2.CreateFromPemFile(_certificatePath, _keyPath);
        // Re-import so the private key is usable by the TLS stack on every platform.
        X509Certificate2 leaf = X509CertificateLoader.LoadPkcs12(pemLeaf.Export(X509ContentType.Pkcs12), null);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(_certificatePath);
        var intermediates = new X509Certificate2Collection();
        foreach (X509Certificate2 c in chain)
            if (!c.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span)) intermediates.Add(c);
        var context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
        return new State(Options(context, legacyCiphers: false), Options(context, legacyCiphers: true), leaf, ComputeEndPointBinding(leaf));
    }

    private static SslServerAuthenticationOptions Options(SslStreamCertificateContext context, bool legacyCiphers) => new()
    {
        ServerCertificateContext = context,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        CipherSuitesPolicy = TlsCipherSuites.Policy(legacyCiphers),
        ClientCertificateRequired = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        AllowRenegotiation = false,
    };

    /// <summary>The <c>tls-server-end-point</c> channel-binding data of RFC 5929 §4.1 for a certificate.</summary>
    /// <param name="cert">The server certificate.</param>
    /// <returns>Its DER encoding hashed with its signature hash (SHA-256 for MD5 and SHA-1).</returns>
    public static byte[] ComputeEndPointBinding(X509Certificate2 cert)
    {
        string oid = cert.SignatureAlgorithm.Value ?? "";
        return oid switch
        {
            "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" => SHA384.HashData(cert.RawData), // sha384WithRSA, ecdsa-with-SHA384
            "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" => SHA512.HashData(cert.RawData), // sha512WithRSA, ecdsa-with-SHA512
            _ => SHA256.HashData(cert.RawData),
        };
    }

    private static void CreateSelfSigned(string certificatePath, string keyPath, string hostName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + hostName, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.1") }, false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 cert = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(certificatePath))!);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(keyPath))!);
        WritePrivate(keyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificatePath, cert.ExportCertificatePem() + "\n");
    }

    private static void WritePrivate(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var fs = new FileStream(path, options);
        using var w = new StreamWriter(fs);
        w.Write(text);
        w.Write('\n');
    }
}
