using System.Security.Cryptography;
using System.Text;
using Postbote.Dkim;

namespace Postbote.Tests.Dkim;

/// <summary>
/// The body canonicalizations a verifier needs beyond signing: "simple" (RFC 6376 §3.4.3) and the <c>l=</c> limit,
/// and "relaxed" fed in runs. The expected canonical forms are what dkimpy's <c>dkim.canonicalization</c> gives for
/// the same bodies.
/// </summary>
public sealed class DkimBodyHashTests
{
    [Theory]
    [InlineData("", "\r\n")]
    [InlineData("a", "a\r\n")]
    [InlineData("\r\n\r\n", "\r\n")]
    [InlineData(" a  b \t\r\n", " a  b \t\r\n")]
    [InlineData("a\rb\r\n", "a\rb\r\n")]
    [InlineData("a\r", "a\r\r\n")]
    [InlineData("x\r\n\r\n\r\n", "x\r\n")]
    [InlineData("a\nb\n", "a\nb\n\r\n")]
    [InlineData("\r\n\r\nx\r\n\r\n", "\r\n\r\nx\r\n")]
    public void SimpleBodyCanonicalization(string body, string canonical)
    {
        foreach (int chunk in new[] { 1, 2, 3, int.MaxValue })
            Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes(canonical)), Hash(DkimBodyHash.Create(relaxed: false), body, chunk));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("\r\n\r\n", "")]
    [InlineData("a", "a\r\n")]
    [InlineData(" a  b \t\r\n", " a b\r\n")]
    [InlineData("a\rb\r\n", "a\rb\r\n")]
    [InlineData("a\r", "a\r\r\n")]
    [InlineData("x\r\n\r\n\r\n", "x\r\n")]
    [InlineData("long run of ordinary words\t\tand  tabs  \r\n\r\nend", "long run of ordinary words and tabs\r\n\r\nend\r\n")]
    public void RelaxedBodyCanonicalizationInAnyChunks(string body, string canonical)
    {
        foreach (int chunk in new[] { 1, 2, 5, int.MaxValue })
            Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes(canonical)), Hash(DkimBodyHash.Create(relaxed: true), body, chunk));
    }

    [Theory]
    [InlineData(false, 0, "")]
    [InlineData(false, 4, "line")]
    [InlineData(true, 7, "a b\r\nc ")]
    [InlineData(true, 100, "a b\r\nc d\r\n")]
    public void LengthCountHashesOnlyThatManyCanonicalOctets(bool relaxed, long limit, string hashed)
    {
        string body = relaxed ? "a   b\r\nc  d \r\n\r\n" : "line one\r\n";
        using DkimBodyHash hash = DkimBodyHash.Create(relaxed, limit);
        hash.Append(Encoding.ASCII.GetBytes(body));
        Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes(hashed)), hash.Complete());
        // The whole canonical length is still counted, so a verifier can tell a body shorter than l=.
        Assert.Equal(10, hash.CanonicalLength);
    }

    private static byte[] Hash(DkimBodyHash hash, string body, int chunk)
    {
        using (hash)
        {
            byte[] octets = Encoding.ASCII.GetBytes(body);
            for (int at = 0; at < octets.Length; at += Math.Min(chunk, octets.Length - at))
                hash.Append(octets.AsSpan(at, Math.Min(chunk, octets.Length - at)));
            return hash.Complete();
        }
    }
}
