using System.Text;

namespace Postbote.Security.Users;

/// <summary>
/// The SASLprep profile of stringprep (RFC 4013, on RFC 3454) for passwords: what RFC 5802 §2.2 calls
/// <c>Normalize(str)</c> and what RFC 4616 §2 asks a PLAIN server to apply before comparing passwords.
/// </summary>
/// <remarks>
/// <para>Implemented: the mapping of RFC 4013 §2.1 (non-ASCII space characters, table C.1.2, become U+0020; the
/// "commonly mapped to nothing" characters of table B.1 are removed); Unicode normalisation form KC (§2.2) when the
/// runtime can normalise (see <see cref="IsNormalizationAvailable"/>); the prohibited output of §2.3 (tables C.1.2,
/// C.2.1 and C.2.2 control characters, C.3 private use, C.4 non-characters, C.5 surrogate code points (lone surrogates),
/// C.6, C.7, C.8 and C.9).</para>
/// <para>Not implemented: the bidirectional-text check of §2.4 (RFC 3454 §6); the unassigned code points of table A.1
/// (Unicode 3.2) are neither rejected nor treated specially, as for a query string (RFC 3454 §7). When the process runs
/// with <c>InvariantGlobalization</c> (no ICU), <see cref="string.Normalize(NormalizationForm)"/> returns its input
/// unchanged, so non-ASCII passwords are compared exactly as typed; ASCII passwords are unaffected either way, as NFKC
/// maps ASCII to itself.</para>
/// </remarks>
public static class SaslPrep
{
    /// <summary>Whether this runtime performs Unicode normalisation (ICU loaded, not invariant-globalization mode).</summary>
    public static bool IsNormalizationAvailable { get; } = ProbeNormalization();

    /// <summary>Prepares a password by SASLprep (RFC 4013).</summary>
    /// <param name="value">The password as typed or received.</param>
    /// <returns>The prepared string.</returns>
    /// <exception cref="ArgumentException">The value contains a prohibited character (RFC 4013 §2.3) or a lone
    /// surrogate.</exception>
    public static string Prepare(ReadOnlySpan<char> value)
    {
        if (!TryPrepare(value, out string? prepared, out string? error)) throw new ArgumentException(error, nameof(value));
        return prepared;
    }

    /// <summary>Prepares a password by SASLprep (RFC 4013) without throwing.</summary>
    /// <param name="value">The password as typed or received.</param>
    /// <param name="prepared">The prepared string, or <c>null</c>.</param>
    /// <param name="error">Why the value was refused, or <c>null</c>.</param>
    /// <returns><c>true</c> when the value could be prepared.</returns>
    public static bool TryPrepare(ReadOnlySpan<char> value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? prepared,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        prepared = null;
        bool ascii = true;
        foreach (char c in value)
        {
            if (c is < (char)0x20 or >= (char)0x7F) { ascii = false; break; }
        }
        if (ascii)
        {
            // Fast path: printable ASCII is unchanged by mapping and NFKC and contains nothing prohibited.
            prepared = value.ToString();
            error = null;
            return true;
        }

        // RFC 4013 §2.1, mapping.
        var mapped = new StringBuilder(value.Length);
        int i = 0;
        while (i < value.Length)
        {
            if (Rune.DecodeFromUtf16(value[i..], out Rune rune, out int used) != System.Buffers.OperationStatus.Done)
            {
                error = "the password contains a lone surrogate (RFC 4013 §2.3, table C.5)";
                return false;
            }
            i += used;
            if (IsNonAsciiSpace(rune.Value)) mapped.Append(' ');
            else if (!IsMappedToNothing(rune.Value)) mapped.Append(value.Slice(i - used, used));
        }

        // RFC 4013 §2.2: "This profile specifies using Unicode normalization form KC".
        string normalized = mapped.ToString();
        if (IsNormalizationAvailable) normalized = normalized.Normalize(NormalizationForm.FormKC);

        // RFC 4013 §2.3, prohibited output.
        foreach (Rune rune in normalized.EnumerateRunes())
        {
            if (IsProhibited(rune.Value))
            {
                error = $"the password contains the prohibited character U+{rune.Value:X4} (RFC 4013 §2.3)";
                return false;
            }
        }
        prepared = normalized;
        error = null;
        return true;
    }

    private static bool ProbeNormalization()
    {
        try
        {
            return "\uFB01".Normalize(NormalizationForm.FormKC) == "fi";
        }
        catch (PlatformNotSupportedException)
        {
            return false;
        }
    }

    /// <summary>RFC 3454 table C.1.2, non-ASCII space characters.</summary>
    private static bool IsNonAsciiSpace(int c) =>
        c is 0x00A0 or 0x1680 or (>= 0x2000 and <= 0x200B) or 0x202F or 0x205F or 0x3000;

    /// <summary>RFC 3454 table B.1, commonly mapped to nothing.</summary>
    private static bool IsMappedToNothing(int c) =>
        c is 0x00AD or 0x034F or 0x1806 or (>= 0x180B and <= 0x180D) or (>= 0x200B and <= 0x200D) or 0x2060
            or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF;

    /// <summary>RFC 4013 §2.3: tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9 of RFC 3454.</summary>
    private static bool IsProhibited(int c) =>
        IsNonAsciiSpace(c)
        // C.2.1 ASCII control characters.
        || c is < 0x20 or 0x7F
        // C.2.2 non-ASCII control characters.
        || c is (>= 0x80 and <= 0x9F) or 0x06DD or 0x070F or 0x180E or 0x200C or 0x200D or 0x2028 or 0x2029
            or (>= 0x2060 and <= 0x2063) or (>= 0x206A and <= 0x206F) or 0xFEFF or (>= 0xFFF9 and <= 0xFFFC)
            or (>= 0x1D173 and <= 0x1D17A)
        // C.3 private use.
        || c is (>= 0xE000 and <= 0xF8FF) or (>= 0xF0000 and <= 0xFFFFD) or (>= 0x100000 and <= 0x10FFFD)
        // C.4 non-character code points.
        || c is (>= 0xFDD0 and <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE
        // C.6 inappropriate for plain text; C.7 inappropriate for canonical representation.
        || c is (>= 0xFFF9 and <= 0xFFFD) or (>= 0x2FF0 and <= 0x2FFB)
        // C.8 change display properties or deprecated.
        || c is 0x0340 or 0x0341 or 0x200E or 0x200F or (>= 0x202A and <= 0x202E)
        // C.9 tagging characters.
        || c is 0xE0001 or (>= 0xE0020 and <= 0xE007F);
}
