using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Postbote.Dns;
using Postbote.Security.Dkim;
using Postbote.Testing.Dns;

namespace Postbote.Tests.Security.Dkim;

/// <summary>Two DKIM key records under keys.test.</summary>
public sealed class DkimKeyZonesFixture : DnsServerFixture
{
    /// <summary>The public key (SubjectPublicKeyInfo, base64) of selector a.</summary>
    public const string KeyA = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDWh/UtPo1qALvzr5UByvtFUFjJ16yP4l87bSkUQdBlwmaKfZ1xcyGIKueJb2tHB4F5lpC6ejLs6a6D9O0n1GFCmPm0a0T7mgKkSwN+xxuxf4Tbu68ZsNqaPPi5WvSO4ZpM8EDACHRhL7nl71K0KkuNrE9mE5ghNsGbtROxzxtmRwIDAQAB";

    /// <summary>The public key of selector b.</summary>
    public const string KeyB = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDjssYvaC5JGUCdCRgc76LRMKn5xH+pp0TioyU4fSZYQYz2vy5BX1IL2dUalFAfg2s3dx6IvwH5X0heqJkmW2cDuPi9cr3Zhp4Yn1baI6MLVtW1mOuVtVP/bDrY+wI3M6dmfTujU9GweApI5yeam65VF1Pu+LF1XkksgBYCrVtYoQIDAQAB";

    protected override IReadOnlyList<TestZone> Zones =>
    [
        new("keys.test", $"""
            $ORIGIN keys.test.
            $TTL 300
            @   IN SOA ns.keys.test. hostmaster.keys.test. 1 3600 600 86400 60
            @   IN NS  ns
            ns  IN A   127.0.0.1
            a._domainkey IN TXT "v=DKIM1; k=rsa; p={KeyA}"
            b._domainkey IN TXT "v=DKIM1; k=rsa; p={KeyB}"
            """),
    ];
}

/// <summary>
/// Regression: every message signed with an RSA key had its key record parsed again, and parsing validates the modulus
/// with primality tests (about 20 ms of CPU for 2048 bits), so DKIM verification cost 97 % of the receiving throughput.
/// The record is still looked up every time; the same record text gives the same parsed key.
/// </summary>
public sealed class DkimKeyParsedOncePerRecordTests(DkimKeyZonesFixture dns) : IClassFixture<DkimKeyZonesFixture>
{
    [Fact]
    public async Task TheSameRecordGivesTheSameParsedKeyAndAnotherRecordItsOwn()
    {
        var locator = new DnsDkimPublicKeyLocator(new DnsResolver(new DnsResolverOptions { Servers = [dns.EndPoint] }));
        AsymmetricKeyParameter a1 = await locator.LocatePublicKeyAsync("dns/txt", "keys.test", "a");
        AsymmetricKeyParameter a2 = await locator.LocatePublicKeyAsync("dns/txt", "keys.test", "a");
        AsymmetricKeyParameter b = await locator.LocatePublicKeyAsync("dns/txt", "keys.test", "b");
        Assert.Same(a1, a2);
        Assert.NotSame(a1, b);
        var ra = Assert.IsType<RsaKeyParameters>(a1);
        var rb = Assert.IsType<RsaKeyParameters>(b);
        Assert.Equal(1024, ra.Modulus.BitLength);
        Assert.NotEqual(ra.Modulus, rb.Modulus);
        Assert.StartsWith("d687f52d3e8d6a00bbf3af95", ra.Modulus.ToString(16), StringComparison.Ordinal);
    }
}
