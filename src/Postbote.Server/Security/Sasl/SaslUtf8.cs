using System.Text;

namespace Postbote.Security.Sasl;

/// <summary>Strict UTF-8 decoding for SASL messages: malformed sequences are an error, not U+FFFD.</summary>
internal static class SaslUtf8
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Decodes UTF-8.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <param name="text">The text, or <c>null</c>.</param>
    /// <returns><c>false</c> for malformed UTF-8 or a NUL character.</returns>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text)
    {
        text = null;
        if (bytes.Contains((byte)0)) return false;
        try
        {
            text = Strict.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
