using Postbote.Security.Users;

namespace Postbote.Tests.Security;

/// <summary>RFC 4013 §2 (and the examples of §3 that do not need normalisation).</summary>
public sealed class SaslPrepTests
{
    [Theory]
    [InlineData("I\u00ADX", "IX")] // soft hyphen mapped to nothing
    [InlineData("user", "user")]
    [InlineData("USER", "USER")] // case preserved
    [InlineData("a\u00A0b", "a b")] // non-ASCII space mapped to SPACE
    [InlineData("a\u200Bb", "a b")] // ZERO WIDTH SPACE is in C.1.2 (and B.1); C.1.2 wins in the mapping
    public void Maps(string input, string expected) => Assert.Equal(expected, SaslPrep.Prepare(input));

    [Theory]
    [InlineData("\u0007")] // RFC 4013 §3 example 5: prohibited character
    [InlineData("a\u0000b")]
    [InlineData("a\u0085b")]
    [InlineData("a\uE000b")]
    [InlineData("a\uD800b")] // lone surrogate
    [InlineData("a\u200Eb")]
    public void Prohibits(string input) => Assert.Throws<ArgumentException>(() => SaslPrep.Prepare(input));

    [Fact]
    public void NormalisesToNfkcWhenTheRuntimeCan()
    {
        // RFC 4013 §3 examples 3 and 4: U+00AA → "a", U+2168 → "IX".
        if (!SaslPrep.IsNormalizationAvailable) return;
        Assert.Equal("a", SaslPrep.Prepare("\u00AA"));
        Assert.Equal("IX", SaslPrep.Prepare("\u2168"));
    }
}
