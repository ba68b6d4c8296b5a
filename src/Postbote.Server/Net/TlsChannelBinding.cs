using System.Buffers.Binary;
using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Authentication.ExtendedProtection;

namespace Postbote.Net;

/// <summary>
/// Channel-binding data of a TLS connection (RFC 5056) as SCRAM-SHA-256-PLUS needs it: the bare octets of the binding
/// type, without the framing that .NET's <see cref="ChannelBinding"/> handle puts around them.
/// </summary>
public static class TlsChannelBinding
{
    /// <summary>Size of the <c>SEC_CHANNEL_BINDINGS</c> header that starts every .NET channel-binding handle: eight
    /// 32-bit fields, 32 octets.</summary>
    public const int HeaderSize = 32;

    private static ReadOnlySpan<byte> TlsUniquePrefix => "tls-unique:"u8;

    /// <summary>
    /// The <c>tls-unique</c> data of RFC 5929 §3.1 for a TLS 1.2 connection: "the first TLS Finished message sent
    /// (note: the Finished struct, not the TLSPlaintext record it is in) in the most recent TLS handshake". RFC 5929
    /// defines no <c>tls-unique</c> for TLS 1.3 (RFC 8446 §C.5), so none is returned there.
    /// </summary>
    /// <param name="tls">An authenticated TLS stream.</param>
    /// <returns>The Finished octets, or <c>null</c> when the connection is not TLS 1.2 or the TLS stack gives none.</returns>
    public static byte[]? TlsUnique(SslStream tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        if (tls.SslProtocol != SslProtocols.Tls12) return null;
        using ChannelBinding? unique = tls.TransportContext?.GetChannelBinding(ChannelBindingKind.Unique);
        if (unique is null || unique.IsInvalid || unique.Size <= HeaderSize) return null;
        byte[] handle = new byte[unique.Size];
        Marshal.Copy(unique.DangerousGetHandle(), handle, 0, handle.Length);
        return ApplicationData(handle, TlsUniquePrefix);
    }

    /// <summary>
    /// The application data of a <c>SEC_CHANNEL_BINDINGS</c> block (its last two fields: length at octet 24, offset at
    /// octet 28, host byte order), without the binding-type prefix (<c>tls-unique:</c>) that the TLS stack puts in front
    /// of the binding octets.
    /// </summary>
    /// <param name="block">The whole block as the handle holds it: header, then application data.</param>
    /// <param name="prefix">The prefix to strip when present, e.g. <c>tls-unique:</c>.</param>
    /// <returns>The binding octets, or <c>null</c> when the block is shorter than its header says or empty.</returns>
    public static byte[]? ApplicationData(ReadOnlySpan<byte> block, ReadOnlySpan<byte> prefix)
    {
        if (block.Length < HeaderSize) return null;
        int length = BitConverter.IsLittleEndian ? BinaryPrimitives.ReadInt32LittleEndian(block[24..]) : BinaryPrimitives.ReadInt32BigEndian(block[24..]);
        int offset = BitConverter.IsLittleEndian ? BinaryPrimitives.ReadInt32LittleEndian(block[28..]) : BinaryPrimitives.ReadInt32BigEndian(block[28..]);
        if (offset < HeaderSize || length <= 0 || offset > block.Length || length > block.Length - offset) return null;
        ReadOnlySpan<byte> data = block.Slice(offset, length);
        if (data.StartsWith(prefix)) data = data[prefix.Length..];
        return data.IsEmpty ? null : data.ToArray();
    }
}
