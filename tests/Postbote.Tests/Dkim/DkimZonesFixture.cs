using System.Security.Cryptography;
using Postbote.Dkim;
using Postbote.Testing.Dns;

namespace Postbote.Tests.Dkim;

/// <summary>
/// nsd with the zone <c>sign.test</c> holding the public keys of keys made for this run: <c>rsa._domainkey</c> and
/// <c>ed._domainkey</c> (made by <see cref="DkimKeyGenerator"/>, their records as keygen prints them) and
/// <c>arc._domainkey</c>, an RSA key in PKCS#1 PEM for dkimpy's arc_sign (<c>other.test</c> is the domain a message
/// Postbote has no key for comes from).
/// </summary>
public sealed class DkimZonesFixture : DnsServerFixture, IDisposable
{
    private readonly TempDirectory _dir = new();

    public DkimZonesFixture()
    {
        var rsa = DkimKeyGenerator.Generate(DkimAlgorithm.RsaSha256);
        var ed = DkimKeyGenerator.Generate(DkimAlgorithm.Ed25519Sha256);
        RsaKeyPath = Path.Combine(_dir.Path, "rsa.pem");
        Ed25519KeyPath = Path.Combine(_dir.Path, "ed.pem");
        File.WriteAllText(RsaKeyPath, rsa.PrivateKeyPem);
        File.WriteAllText(Ed25519KeyPath, ed.PrivateKeyPem);
        using RSA arc = RSA.Create(2048);
        ArcKeyPath = Path.Combine(_dir.Path, "arc.pem");
        File.WriteAllText(ArcKeyPath, arc.ExportRSAPrivateKeyPem() + "\n");
        string arcRecord = new DkimGeneratedKey("", Convert.ToBase64String(arc.ExportSubjectPublicKeyInfo()), "rsa").TxtRecord("sign.test", "arc");
        Zones =
        [
            new("sign.test", $"""
                $ORIGIN sign.test.
                $TTL 300
                @        IN SOA ns.sign.test. hostmaster.sign.test. 1 3600 600 86400 60
                @        IN NS  ns
                ns       IN A   127.0.0.1
                {rsa.TxtRecord("sign.test", "rsa")}
                {ed.TxtRecord("sign.test", "ed")}
                {arcRecord}

                """),
        ];
    }

    protected override IReadOnlyList<TestZone> Zones { get; }

    /// <summary>The RSA key of <c>rsa._domainkey.sign.test</c> (PKCS#8 PEM).</summary>
    public string RsaKeyPath { get; }

    /// <summary>The Ed25519 key of <c>ed._domainkey.sign.test</c> (PKCS#8 PEM).</summary>
    public string Ed25519KeyPath { get; }

    /// <summary>The RSA key of <c>arc._domainkey.sign.test</c> (PKCS#1 PEM, for dkimpy).</summary>
    public string ArcKeyPath { get; }

    public void Dispose() => _dir.Dispose();

    /// <summary>Both signing keys of sign.test.</summary>
    public DkimKeyRing Ring() => DkimKeyRing.Load(
    [
        new DkimSignEntry("sign.test", "rsa", RsaKeyPath),
        new DkimSignEntry("sign.test", "ed", Ed25519KeyPath),
    ]);
}
