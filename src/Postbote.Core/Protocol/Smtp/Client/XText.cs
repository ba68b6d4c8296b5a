using System.Buffers;
using System.Text;

namespace Postbote.Protocol.Smtp.Client;

/// <summary>
/// The <c>xtext</c> encoding of RFC 3461 §4 for the DSN parameters ENVID and ORCPT: <c>xtext = *( xchar / hexchar )</c>,
/// <c>xchar</c> is any ASCII character from <c>!</c> (33) to <c>~</c> (126) except <c>+</c> and <c>=</c>, <c>hexchar</c>
/// is <c>+</c> followed by two upper-case hexadecimal digits. Text is taken as UTF-8; every octet that is no xchar is
/// written as a hexchar.
/// </summary>
public static class XText
{
    /// <summary>The number of octets <paramref name="value"/> takes once encoded.</summary>
    /// <param name="value">The text to encode.</param>
    /// <returns>The encoded length in octets (also in characters: xtext is ASCII).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is <c>null</c>.</exception>
    public static int EncodedLength(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int n = 0;
        foreach (byte b in Encoding.UTF8.GetBytes(value)) n += IsXChar(b) ? 1 : 3;
        return n;
    }

    /// <summary>Writes <paramref name="value"/> as xtext.</summary>
    /// <param name="output">Where the encoded octets go.</param>
    /// <param name="value">The text, e.g. <c>rfc822;a+b=c@example.org</c>'s address part.</param>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    public static void Write(IBufferWriter<byte> output, string value)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(value);
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        Span<byte> utf8 = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int length = Encoding.UTF8.GetBytes(value, utf8);
            Span<byte> dst = output.GetSpan(length * 3);
            int w = 0;
            foreach (byte b in utf8[..length])
            {
                if (IsXChar(b))
                {
                    dst[w++] = b;
                }
                else
                {
                    dst[w++] = (byte)'+';
                    dst[w++] = (byte)"0123456789ABCDEF"[b >> 4];
                    dst[w++] = (byte)"0123456789ABCDEF"[b & 0xF];
                }
            }
            output.Advance(w);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Encodes <paramref name="value"/> as an xtext string.</summary>
    /// <param name="value">The text.</param>
    /// <returns>The xtext form, e.g. <c>a+2Bb+3Dc</c> for <c>a+b=c</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is <c>null</c>.</exception>
    public static string Encode(string value)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(1, value?.Length ?? 0));
        Write(buffer, value!);
        return Encoding.ASCII.GetString(buffer.WrittenSpan);
    }

    /// <summary>Decodes xtext back to text, e.g. an ENVID or ORCPT as it was received and stored.</summary>
    /// <param name="xtext">The xtext form.</param>
    /// <param name="value">The decoded text (the octets taken as UTF-8), or <c>null</c> when <paramref name="xtext"/> is
    /// not well-formed xtext.</param>
    /// <returns>Whether <paramref name="xtext"/> was well-formed.</returns>
    public static bool TryDecode(string xtext, out string? value)
    {
        value = null;
        if (xtext is null) return false;
        var octets = new byte[xtext.Length];
        int n = 0;
        for (int i = 0; i < xtext.Length; i++)
        {
            char c = xtext[i];
            if (c == '+')
            {
                if (i + 2 >= xtext.Length || !TryHex(xtext[i + 1], out int hi) || !TryHex(xtext[i + 2], out int lo)) return false;
                octets[n++] = (byte)(hi << 4 | lo);
                i += 2;
            }
            else if (c < 0x80 && IsXChar((byte)c))
            {
                octets[n++] = (byte)c;
            }
            else
            {
                return false;
            }
        }
        value = Encoding.UTF8.GetString(octets, 0, n);
        return true;
    }

    private static bool IsXChar(byte b) => b is >= 33 and <= 126 and not (byte)'+' and not (byte)'=';

    private static bool TryHex(char c, out int v)
    {
        v = c is >= '0' and <= '9' ? c - '0' : c is >= 'A' and <= 'F' ? c - 'A' + 10 : -1;
        return v >= 0;
    }
}
