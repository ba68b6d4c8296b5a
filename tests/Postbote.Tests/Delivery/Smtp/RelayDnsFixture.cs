using Postbote.Testing.Dns;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>nsd with <see cref="PostboteTestZones"/> and the zone <c>relay.test</c> of the relaying tests: every
/// address is on loopback, where the tests' receivers listen.</summary>
public sealed class RelayDnsFixture : DnsServerFixture
{
    /// <summary>MX 10 <c>mx.one.relay.test</c>, A 127.0.0.31.</summary>
    public const string One = "one.relay.test";

    /// <summary>MX 10 <c>mx1.greet.relay.test</c> (127.0.0.32), MX 20 <c>mx2.greet.relay.test</c> (127.0.0.33).</summary>
    public const string Greet = "greet.relay.test";

    /// <summary>MX 10 <c>mx.dead-mx.postbote.test</c> (127.0.0.99, where nothing listens), MX 20
    /// <c>mx.live.relay.test</c> (127.0.0.34).</summary>
    public const string DeadFirst = "dead-first.relay.test";

    /// <summary>MX 10 <c>mx.aio.relay.test</c>, A 127.0.0.1 (aiosmtpd listens there).</summary>
    public const string Aio = "aio.relay.test";

    protected override IReadOnlyList<TestZone> Zones { get; } =
    [
        .. PostboteTestZones.All,
        new("relay.test", """
            $ORIGIN relay.test.
            $TTL 300
            @              IN SOA ns.postbote.test. hostmaster.postbote.test. 1 3600 600 86400 60
            @              IN NS  ns.postbote.test.
            one            IN MX  10 mx.one
            mx.one         IN A   127.0.0.31
            greet          IN MX  10 mx1.greet
            greet          IN MX  20 mx2.greet
            mx1.greet      IN A   127.0.0.32
            mx2.greet      IN A   127.0.0.33
            dead-first     IN MX  10 mx.dead-mx.postbote.test.
            dead-first     IN MX  20 mx.live
            mx.live        IN A   127.0.0.34
            aio            IN MX  10 mx.aio
            mx.aio         IN A   127.0.0.1

            """),
    ];
}

/// <summary>One nsd for every relaying test class; the classes of this collection run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class RelayDnsCollection : ICollectionFixture<RelayDnsFixture>
{
    public const string Name = "relay dns";
}
