using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Postbote.Security.Ube;

/// <summary>
/// The triplet greylisting decides on (RFC 6647): the client's network (its address cut to a prefix, since large
/// senders retry from another address of the same network), the reverse-path and the recipient, both compared without
/// regard to case.
/// </summary>
/// <param name="ClientNetwork">The client's network, e.g. <c>192.0.2.0/24</c>.</param>
/// <param name="Sender">The reverse-path, lower case, empty for <c>&lt;&gt;</c>.</param>
/// <param name="Recipient">The forward-path, lower case.</param>
public sealed record GreylistTriplet(string ClientNetwork, string Sender, string Recipient)
{
    /// <summary>Makes the triplet of a client and a transaction.</summary>
    /// <param name="client">The client's address (IPv4-mapped IPv6 taken as IPv4).</param>
    /// <param name="prefixV4">The IPv4 network prefix length, 0–32 bits.</param>
    /// <param name="prefixV6">The IPv6 network prefix length, 0–128 bits.</param>
    /// <param name="sender">The reverse-path, or <c>null</c> for <c>&lt;&gt;</c>.</param>
    /// <param name="recipient">The forward-path.</param>
    /// <returns>The triplet.</returns>
    public static GreylistTriplet Of(IPAddress client, int prefixV4, int prefixV6, string? sender, string recipient)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(recipient);
        if (client.IsIPv4MappedToIPv6) client = client.MapToIPv4();
        int prefix = client.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? prefixV4 : prefixV6;
        var network = new IPNetwork(Mask(client, prefix), prefix);
        return new GreylistTriplet(network.ToString(), (sender ?? "").ToLowerInvariant(), recipient.ToLowerInvariant());
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        byte[] b = address.GetAddressBytes();
        for (int i = 0; i < b.Length; i++)
        {
            int keep = Math.Clamp(prefix - i * 8, 0, 8);
            b[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(b);
    }

    /// <summary>The key the store keeps: the first 128 bits of the SHA-256 of the three parts, as 32 lower-case hex
    /// digits, so that an entry has a fixed size whatever the addresses' length.</summary>
    public string Key
    {
        get
        {
            byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(ClientNetwork + "\0" + Sender + "\0" + Recipient));
            return Convert.ToHexStringLower(hash.AsSpan(0, 16));
        }
    }
}
