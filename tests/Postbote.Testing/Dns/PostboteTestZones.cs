namespace Postbote.Testing.Dns;

/// <summary>
/// The test zones that <see cref="DnsServerFixture"/> serves, and the names and values in them, so that tests assert
/// against these constants instead of repeating them. All addresses are loopback addresses: a relaying test can listen
/// on them. Negative answers carry a TTL of 60 seconds (the SOA's MINIMUM; its TTL is 300).
/// </summary>
public static class PostboteTestZones
{
    /// <summary>The main zone.</summary>
    public const string Zone = "postbote.test";

    /// <summary>Three MX at two preferences: 10 <see cref="Mx1"/>, 10 <see cref="Mx2"/>, 20 <see cref="Mx3"/>; TTL
    /// 3600 seconds.</summary>
    public const string ThreeMx = "three-mx.postbote.test";

    /// <summary>The first preference-10 exchange of <see cref="ThreeMx"/>, A 127.0.0.11 (TTL 300); its PTR points back.</summary>
    public const string Mx1 = "mx1.three-mx.postbote.test";

    /// <summary>The second preference-10 exchange of <see cref="ThreeMx"/>, A 127.0.0.12.</summary>
    public const string Mx2 = "mx2.three-mx.postbote.test";

    /// <summary>The preference-20 exchange of <see cref="ThreeMx"/>, A 127.0.0.13.</summary>
    public const string Mx3 = "mx3.three-mx.postbote.test";

    /// <summary>No MX, but A 127.0.0.21 and AAAA ::1 (TTL 120 seconds): mail goes to the implicit MX (RFC 5321 §5.1).
    /// The PTR of 127.0.0.21 and of ::1 point to it.</summary>
    public const string AddressOnly = "a-only.postbote.test";

    /// <summary>CNAME (TTL 600) to <see cref="AddressOnly"/>.</summary>
    public const string Alias = "alias.postbote.test";

    /// <summary>A null MX, <c>MX 0 .</c> (RFC 7505), TTL 600 seconds.</summary>
    public const string NullMx = "null-mx.postbote.test";

    /// <summary>A name that does not exist (NXDOMAIN).</summary>
    public const string Missing = "missing.postbote.test";

    /// <summary>MX 10 <c>mx.dead-mx.postbote.test</c>, A 127.0.0.99, where nothing is meant to listen.</summary>
    public const string DeadMx = "dead-mx.postbote.test";

    /// <summary>One TXT record (TTL 900) of two character-strings, <see cref="LongTxtFirst"/> (255 octets, the most one
    /// string holds) and <see cref="LongTxtSecond"/>.</summary>
    public const string LongTxt = "long-txt.postbote.test";

    /// <summary>A zone that is configured but does not load: every name in it gets SERVFAIL.</summary>
    public const string ServFailZone = "servfail.test";

    /// <summary>A name in no zone of the server: REFUSED.</summary>
    public const string Refused = "elsewhere.example";

    /// <summary>The first string of <see cref="LongTxt"/>: exactly 255 octets.</summary>
    public static readonly string LongTxtFirst = Fill("v=spf1", 255);

    /// <summary>The second string of <see cref="LongTxt"/>.</summary>
    public static readonly string LongTxtSecond = " ip4:127.0.0.0/8 ip6:::1 -all";

    /// <summary>Every zone: <see cref="Zone"/>, the IPv4 and IPv6 reverse zones of the loopback addresses, and
    /// <see cref="ServFailZone"/>.</summary>
    public static IReadOnlyList<TestZone> All { get; } =
    [
        new(Zone, $$"""
            $ORIGIN postbote.test.
            $TTL 300
            @                IN SOA ns.postbote.test. hostmaster.postbote.test. 1 3600 600 86400 60
            @                IN NS  ns
            ns               IN A   127.0.0.1
            three-mx    3600 IN MX  10 mx1.three-mx
            three-mx    3600 IN MX  10 mx2.three-mx
            three-mx    3600 IN MX  20 mx3.three-mx
            mx1.three-mx     IN A   127.0.0.11
            mx2.three-mx     IN A   127.0.0.12
            mx3.three-mx     IN A   127.0.0.13
            a-only       120 IN A    127.0.0.21
            a-only       120 IN AAAA ::1
            alias        600 IN CNAME a-only
            null-mx      600 IN MX  0 .
            dead-mx          IN MX  10 mx.dead-mx
            mx.dead-mx       IN A   127.0.0.99
            long-txt     900 IN TXT "{{LongTxtFirst}}" "{{LongTxtSecond}}"

            """),
        new("0.0.127.in-addr.arpa", """
            $ORIGIN 0.0.127.in-addr.arpa.
            $TTL 300
            @   IN SOA ns.postbote.test. hostmaster.postbote.test. 1 3600 600 86400 60
            @   IN NS  ns.postbote.test.
            11  IN PTR mx1.three-mx.postbote.test.
            21  IN PTR a-only.postbote.test.

            """),
        new("ip6.arpa", """
            $ORIGIN ip6.arpa.
            $TTL 300
            @   IN SOA ns.postbote.test. hostmaster.postbote.test. 1 3600 600 86400 60
            @   IN NS  ns.postbote.test.
            1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR a-only.postbote.test.

            """),
        new(ServFailZone, null),
    ];

    private static string Fill(string start, int length)
    {
        var s = new System.Text.StringBuilder(start);
        for (int i = 1; s.Length < length; i++) s.Append(" ip4:127.0.").Append(i).Append(".0/24");
        return s.ToString(0, length);
    }
}
