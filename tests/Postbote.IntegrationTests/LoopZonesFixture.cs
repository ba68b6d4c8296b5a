using Postbote.Testing.Dns;

namespace Postbote.IntegrationTests;

/// <summary>nsd with the zone of the loop, throttling and outbound identity tests, <c>loops.test</c>.</summary>
public sealed class LoopZonesFixture : DnsServerFixture
{
    protected override IReadOnlyList<TestZone> Zones { get; } =
    [
        new("loops.test", """
            $ORIGIN loops.test.
            $TTL 300
            @          IN SOA ns.loops.test. hostmaster.loops.test. 1 3600 600 86400 60
            @          IN NS  ns
            ns         IN A   127.0.0.1
            ; the MX is the server under test itself (127.0.0.1, [relay] port = its own listener's port)
            self       IN MX  10 mx.self
            mx.self    IN A   127.0.0.1
            ; the MX greets with the server's own host name
            named      IN MX  10 mx.named
            mx.named   IN A   127.0.0.62
            ; alias forwarding between two servers on 127.0.0.1 (each relays to the other's port)
            one        IN MX  10 mx.pair
            two        IN MX  10 mx.pair
            mx.pair    IN A   127.0.0.1
            ; throttling receiver A and receiver B
            a          IN MX  10 mx.a
            mx.a       IN A   127.0.0.63
            b          IN MX  10 mx.b
            mx.b       IN A   127.0.0.64
            ; outbound identity and address preference
            id         IN MX  10 mx.id
            mx.id      IN A   127.0.0.65
            dual       IN MX  10 mx.dual
            mx.dual    IN A   127.0.0.65
            mx.dual    IN AAAA ::1
            fb         IN MX  10 mx.fb
            fb         IN MX  20 mx.id
            mx.fb      IN A   127.0.0.69
            mx.fb      IN AAAA ::1

            """),
    ];
}
