using System.Net;
using Xunit;

namespace Postbote.Testing.Dns;

/// <summary>
/// An xunit class fixture: nsd with <see cref="Zones"/> on loopback, a <see cref="DnsQueryCounter"/> in front of it
/// (point resolvers at <see cref="EndPoint"/>) and a second one that answers nothing (<see cref="SilentEndPoint"/>).
/// Relaying and SPF tests that need zones of their own derive from it and override <see cref="Zones"/>.
/// </summary>
public class DnsServerFixture : IAsyncLifetime
{
    private NsdServer? server;
    private DnsQueryCounter? counter;
    private DnsQueryCounter? silent;

    /// <summary>The zones served; <see cref="PostboteTestZones.All"/> unless overridden.</summary>
    protected virtual IReadOnlyList<TestZone> Zones => PostboteTestZones.All;

    /// <summary>The running nsd.</summary>
    /// <exception cref="InvalidOperationException">Before <see cref="InitializeAsync"/>.</exception>
    public NsdServer Server => server ?? throw new InvalidOperationException("not started");

    /// <summary>The counting relay in front of <see cref="Server"/>.</summary>
    /// <exception cref="InvalidOperationException">Before <see cref="InitializeAsync"/>.</exception>
    public DnsQueryCounter Queries => counter ?? throw new InvalidOperationException("not started");

    /// <summary>The relay that answers nothing: its count says how many tries a resolver made.</summary>
    /// <exception cref="InvalidOperationException">Before <see cref="InitializeAsync"/>.</exception>
    public DnsQueryCounter Silent => silent ?? throw new InvalidOperationException("not started");

    /// <summary>The address resolvers under test ask: <see cref="Queries"/>, which passes on to nsd.</summary>
    public IPEndPoint EndPoint => Queries.EndPoint;

    /// <summary>An address where a DNS server should be but none answers.</summary>
    public IPEndPoint SilentEndPoint => Silent.EndPoint;

    /// <summary>Starts nsd and both relays.</summary>
    /// <returns>A task that completes when nsd answers.</returns>
    public async Task InitializeAsync()
    {
        server = await NsdServer.StartAsync(Zones).ConfigureAwait(false);
        counter = DnsQueryCounter.Start(server.EndPoint);
        silent = DnsQueryCounter.Start(null);
    }

    /// <summary>Stops the relays and nsd.</summary>
    /// <returns>A task that completes when they are gone.</returns>
    public async Task DisposeAsync()
    {
        if (counter is not null) await counter.DisposeAsync().ConfigureAwait(false);
        if (silent is not null) await silent.DisposeAsync().ConfigureAwait(false);
        if (server is not null) await server.DisposeAsync().ConfigureAwait(false);
    }
}
