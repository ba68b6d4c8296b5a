using System.Buffers.Binary;
using System.Text;

namespace Postbote.Testing.Dns;

/// <summary>The few bytes of the DNS message format (RFC 1035 §4.1) the fixtures need: a query, and the question and
/// RCODE of a message.</summary>
public static class DnsWire
{
    /// <summary>Record type numbers (RFC 1035 §3.2.2, RFC 3596 §2.1, RFC 6698 §7.1) by mnemonic.</summary>
    public static readonly IReadOnlyDictionary<string, int> Types = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
    {
        ["A"] = 1, ["NS"] = 2, ["CNAME"] = 5, ["SOA"] = 6, ["PTR"] = 12, ["MX"] = 15, ["TXT"] = 16, ["AAAA"] = 28, ["TLSA"] = 52,
    };

    /// <summary>A query for <paramref name="name"/>, class IN, recursion desired.</summary>
    /// <param name="id">The message ID.</param>
    /// <param name="name">The name, without trailing dot.</param>
    /// <param name="type">The record type number.</param>
    /// <returns>The message bytes.</returns>
    public static byte[] Query(ushort id, string name, int type)
    {
        var m = new List<byte>(64);
        m.AddRange([(byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        foreach (string label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            m.Add((byte)label.Length);
            m.AddRange(Encoding.ASCII.GetBytes(label));
        }
        m.AddRange([0, (byte)(type >> 8), (byte)type, 0, 1]);
        return [.. m];
    }

    /// <summary>Reads the ID, the first question's name (lower case, no trailing dot) and type of a message.</summary>
    /// <param name="message">The message.</param>
    /// <param name="id">The message ID.</param>
    /// <param name="name">The question's name.</param>
    /// <param name="type">The question's type number.</param>
    /// <returns>Whether the message holds a readable question.</returns>
    public static bool TryReadQuestion(ReadOnlySpan<byte> message, out ushort id, out string name, out int type)
    {
        id = 0;
        name = "";
        type = 0;
        if (message.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(message[4..]) == 0) return false;
        id = BinaryPrimitives.ReadUInt16BigEndian(message);
        var labels = new List<string>();
        int at = 12;
        for (int guard = 0; guard < 128; guard++)
        {
            if (at >= message.Length) return false;
            int length = message[at++];
            if (length == 0) break;
            if (length > 63 || at + length > message.Length) return false;
            labels.Add(Encoding.ASCII.GetString(message.Slice(at, length)).ToLowerInvariant());
            at += length;
        }
        if (at + 4 > message.Length) return false;
        name = string.Join('.', labels);
        type = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
        return true;
    }

    /// <summary>The RCODE of a message (RFC 1035 §4.1.1): 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED.</summary>
    /// <param name="message">The message; at least the 12-octet header.</param>
    /// <returns>The RCODE.</returns>
    public static int ResponseCode(ReadOnlySpan<byte> message) => message[3] & 0x0F;
}
