using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Postbote.Delivery.Smtp;

/// <summary>
/// The endpoints this server's SMTP listeners are bound to, for loop detection (RFC 5321 §6.3): a mail exchanger or next
/// hop whose address and port is one of them is this server. A listener on a wildcard address (<c>0.0.0.0</c>,
/// <c>[::]</c>) takes every local address of its family: the loopback network (127.0.0.0/8, <c>::1</c>) and every
/// address of the machine's interfaces. Thread-safe: the composition root sets the configured endpoints before the
/// queue starts and the bound ones (ports the system chose included) once the listeners listen.
/// </summary>
public sealed class OwnEndpoints
{
    private volatile IReadOnlyList<IPEndPoint> _endpoints = [];
    private volatile HashSet<IPAddress>? _interfaceAddresses;

    /// <summary>The endpoints as last set.</summary>
    public IReadOnlyList<IPEndPoint> Endpoints => _endpoints;

    /// <summary>Replaces the endpoints; a port of 0 (not bound yet) is left out.</summary>
    /// <param name="endpoints">The listeners' endpoints.</param>
    public void Set(IEnumerable<IPEndPoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _endpoints = endpoints.Where(e => e.Port != 0).Select(Normalize).Distinct().ToList();
    }

    /// <summary>Whether a connection to <paramref name="endPoint"/> would reach one of this server's listeners.</summary>
    /// <param name="endPoint">The address and port a delivery would connect to.</param>
    /// <returns><c>true</c> when the port is a listener's and the address is that listener's, or any local address of
    /// its family for a wildcard listener.</returns>
    public bool Contains(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        IPEndPoint target = Normalize(endPoint);
        foreach (IPEndPoint own in _endpoints)
        {
            if (own.Port != target.Port || own.AddressFamily != target.AddressFamily) continue;
            if (own.Address.Equals(target.Address)) return true;
            if ((own.Address.Equals(IPAddress.Any) || own.Address.Equals(IPAddress.IPv6Any)) && IsLocal(target.Address)) return true;
        }
        return false;
    }

    /// <summary>Whether an address belongs to this machine: loopback, or an address of one of its interfaces.</summary>
    private bool IsLocal(IPAddress address)
    {
        if (IPAddress.IsLoopback(address)) return true; // 127.0.0.0/8 and ::1
        HashSet<IPAddress> mine = _interfaceAddresses ??= InterfaceAddresses();
        return mine.Contains(address);
    }

    private static HashSet<IPAddress> InterfaceAddresses()
    {
        var set = new HashSet<IPAddress>();
        try
        {
            foreach (NetworkInterface nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (UnicastIPAddressInformation a in nic.GetIPProperties().UnicastAddresses)
                {
                    IPAddress address = a.Address;
                    if (address.IsIPv6LinkLocal) address = new IPAddress(address.GetAddressBytes()); // without the scope
                    set.Add(address);
                }
            }
        }
        catch (NetworkInformationException)
        {
            // Loopback still counts.
        }
        return set;
    }

    /// <summary>An IPv4-mapped IPv6 address as the IPv4 address it is.</summary>
    private static IPEndPoint Normalize(IPEndPoint e) =>
        e.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(e.Address.MapToIPv4(), e.Port) : e;
}
