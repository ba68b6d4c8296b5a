using System.Net;
using Postbote.Delivery.Smtp;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>Which endpoints are this server's own listeners: address and port, a wildcard listener taking every local
/// address of its family.</summary>
public sealed class OwnEndpointsTests
{
    private static OwnEndpoints With(params string[] endpoints)
    {
        var own = new OwnEndpoints();
        own.Set(endpoints.Select(IPEndPoint.Parse));
        return own;
    }

    [Theory]
    [InlineData("127.0.0.1:2525", "127.0.0.1:2525", true)]
    [InlineData("127.0.0.1:2525", "127.0.0.1:2526", false)]
    [InlineData("127.0.0.1:2525", "127.0.0.2:2525", false)]
    [InlineData("0.0.0.0:2525", "127.0.0.9:2525", true)]
    [InlineData("0.0.0.0:2525", "192.0.2.200:2525", false)]
    [InlineData("0.0.0.0:2525", "[::1]:2525", false)]
    [InlineData("[::]:2525", "[::1]:2525", true)]
    [InlineData("[::]:2525", "127.0.0.1:2525", false)]
    [InlineData("[::1]:2525", "[::1]:2525", true)]
    [InlineData("127.0.0.1:2525", "[::ffff:127.0.0.1]:2525", true)]
    [InlineData("127.0.0.1:0", "127.0.0.1:0", false)]
    public void AnAddressAndPortIsOursWhenAListenerTakesIt(string listener, string target, bool ours) =>
        Assert.Equal(ours, With(listener).Contains(IPEndPoint.Parse(target)));

    [Fact]
    public void AWildcardListenerTakesTheAddressesOfTheMachinesInterfaces()
    {
        IPAddress? address = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (address is null) return; // a machine with loopback only has nothing more to show
        Assert.True(With("0.0.0.0:25").Contains(new IPEndPoint(address, 25)));
        Assert.False(With("127.0.0.1:25").Contains(new IPEndPoint(address, 25)));
    }

    [Fact]
    public void SetReplacesTheEndpoints()
    {
        OwnEndpoints own = With("127.0.0.1:0");
        Assert.False(own.Contains(IPEndPoint.Parse("127.0.0.1:40000")));
        own.Set([IPEndPoint.Parse("127.0.0.1:40000")]);
        Assert.True(own.Contains(IPEndPoint.Parse("127.0.0.1:40000")));
    }
}
