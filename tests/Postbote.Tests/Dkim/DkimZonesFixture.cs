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
        string arcKey = Convert.ToBase64String(arc.ExportSubjectPublicKeyInfo());
        string arcRecord = new DkimGeneratedKey("", arcKey, "rsa").TxtRecord("sign.test", "arc");
        string Txt(string selector, string value) =>
            $"{selector}._domainkey.sign.test. IN TXT {string.Join(' ', value.Chunk(200).Select(c => "\"" + new string(c) + "\""))}";
        using RSA small = RSA.Create(768);
        SmallRsaKeyPath = Path.Combine(_dir.Path, "small.pem");
        File.WriteAllText(SmallRsaKeyPath, small.ExportRSAPrivateKeyPem() + "\n");
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
                {Txt("revoked", "v=DKIM1; k=rsa; p=")}
                {Txt("strict", "v=DKIM1; k=rsa; t=s; p=" + arcKey)}
                {Txt("sha1only", "v=DKIM1; k=rsa; h=sha1; p=" + arcKey)}
                {Txt("edtype", "v=DKIM1; k=ed25519; p=" + arcKey)}
                {Txt("web", "v=DKIM1; k=rsa; s=web; p=" + arcKey)}
                {Txt("v2", "v=DKIM2; k=rsa; p=" + arcKey)}
                {Txt("small", "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(small.ExportSubjectPublicKeyInfo()))}
                {Txt("pkcs1", "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(arc.ExportRSAPublicKey()))}

                """),
        ];
    }

    protected override IReadOnlyList<TestZone> Zones { get; }

    /// <summary>The RSA key of <c>rsa._domainkey.sign.test</c> (PKCS#8 PEM).</summary>
    public string RsaKeyPath { get; }

    /// <summary>The Ed25519 key of <c>ed._domainkey.sign.test</c> (PKCS#8 PEM).</summary>
    public string Ed25519KeyPath { get; }

    /// <summary>The RSA key of <c>arc._domainkey.sign.test</c> (PKCS#1 PEM, for dkimpy), also published under the
    /// selectors <c>strict</c> (t=s), <c>sha1only</c> (h=sha1), <c>edtype</c> (k=ed25519), <c>web</c> (s=web),
    /// <c>v2</c> (v=DKIM2) and <c>pkcs1</c> (p= a bare RSAPublicKey); <c>revoked</c> has an empty p=.</summary>
    public string ArcKeyPath { get; }

    /// <summary>A 768-bit RSA key (PKCS#1 PEM), published as <c>small._domainkey.sign.test</c>.</summary>
    public string SmallRsaKeyPath { get; }

    public void Dispose() => _dir.Dispose();

    /// <summary>Both signing keys of sign.test.</summary>
    public DkimKeyRing Ring() => DkimKeyRing.Load(
    [
        new DkimSignEntry("sign.test", "rsa", RsaKeyPath),
        new DkimSignEntry("sign.test", "ed", Ed25519KeyPath),
    ]);
}
