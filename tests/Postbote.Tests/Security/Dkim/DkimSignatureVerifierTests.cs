using System.Text;
using MimeKit;
using Postbote.Dns;
using Postbote.Security.Dkim;
using Postbote.Testing.Dkim;
using Postbote.Tests.Dkim;

namespace Postbote.Tests.Security.Dkim;

/// <summary>
/// Postbote's DKIM verifier against two others on the same octets: dkimpy signs every message (RSA and Ed25519, all
/// four canonicalization pairs, with and without l=), the message is changed or not after signing, and Postbote's
/// result, MimeKit's <see cref="MimeKit.Cryptography.DkimVerifier"/> and dkimpy's own verify must agree with the
/// expected result. Keys come from nsd on loopback through Postbote's resolver.
/// </summary>
public sealed class DkimSignatureVerifierTests(DkimZonesFixture dns) : IClassFixture<DkimZonesFixture>
{
    private const string Body = "line with trailing space  \r\n\t tabbed   words\r\n\r\n.dot line\r\n\r\n\r\n";

    private static byte[] Message(string body = Body) => Encoding.ASCII.GetBytes(
        "Received: from client.test by mx.test; Thu, 1 Jan 2026 00:00:00 +0000\r\n" +
        "From: Alice <alice@sign.test>\r\nTo: bob@example.org,\r\n\tcarol@example.org\r\nSubject:  folded   and\r\n  spaced  \r\n" +
        "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <1@sign.test>\r\nMIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body);

    private DnsDkimPublicKeyLocator Locator(DnsResolverOptions? options = null) =>
        new(new DnsResolver(options ?? new DnsResolverOptions { Servers = [dns.EndPoint] }));

    private async Task<IReadOnlyList<DkimResult>> VerifyAsync(byte[] message, DnsDkimPublicKeyLocator? locator = null)
    {
        using var stream = new MemoryStream(message, writable: false);
        return await new DkimSignatureVerifier(locator ?? Locator()).VerifyAsync(stream, CancellationToken.None);
    }

    private async Task<bool> MimeKitVerifiesAsync(byte[] message)
    {
        using var stream = new MemoryStream(message, writable: false);
        using MimeMessage parsed = await MimeMessage.LoadAsync(stream);
        var verifier = new MimeKit.Cryptography.DkimVerifier(Locator());
        Header signature = parsed.Headers.First(h => h.Id == HeaderId.DkimSignature);
        return await verifier.VerifyAsync(parsed, signature);
    }

    private string Key(string algorithm) => algorithm == "ed" ? dns.Ed25519KeyPath : dns.ArcKeyPath;

    private async Task<byte[]> SignAsync(string algorithm, string canonicalization, bool bodyLength = false, byte[]? message = null, string? selector = null) =>
        await DkimPy.SignAsync(message ?? Message(), selector ?? (algorithm == "ed" ? "ed" : "arc"), "sign.test", Key(algorithm),
            algorithm == "ed" ? "ed25519-sha256" : "rsa-sha256", canonicalization, bodyLength);

    /// <summary>The message with the first <paramref name="from"/> replaced.</summary>
    private static byte[] Replace(byte[] message, string from, string to)
    {
        string s = Encoding.ASCII.GetString(message);
        int at = s.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, "not found: " + from);
        return Encoding.ASCII.GetBytes(s[..at] + to + s[(at + from.Length)..]);
    }

    /// <summary>Changes after signing, and which canonicalizations survive them.</summary>
    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string c in new[] { "simple/simple", "relaxed/relaxed", "relaxed/simple", "simple/relaxed" })
        {
            foreach (string change in new[] { "none", "body-word", "subject-word", "header-spaces", "header-name-case", "body-spaces",
                "trailing-empty-lines", "appended-with-l", "appended", "unsigned-field-added" })
            {
                data.Add("rsa", c, change);
            }
            foreach (string change in new[] { "none", "body-word", "header-spaces" }) data.Add("ed", c, change);
        }
        return data;
    }

    private static byte[] Change(byte[] signed, string change) => change switch
    {
        "none" => signed,
        "body-word" => Replace(signed, "tabbed", "TABBED"),
        "subject-word" => Replace(signed, "Subject:  folded", "Subject:  Folded"),
        "header-spaces" => Replace(signed, "Subject:  folded   and", "Subject: folded and  "),
        "header-name-case" => Replace(signed, "Subject:", "SUBJECT:"),
        "body-spaces" => Replace(signed, "tabbed   words", "tabbed words \t"),
        "trailing-empty-lines" => [.. signed, .. "\r\n\r\n"u8.ToArray()],
        "appended-with-l" or "appended" => [.. signed, .. "appended line\r\n"u8.ToArray()],
        "unsigned-field-added" => [.. "X-Added: later\r\n"u8.ToArray(), .. signed],
        _ => throw new ArgumentOutOfRangeException(nameof(change)),
    };

    private static bool Expected(string canonicalization, string change)
    {
        bool relaxedHeader = canonicalization.StartsWith("relaxed", StringComparison.Ordinal);
        bool relaxedBody = canonicalization.EndsWith("relaxed", StringComparison.Ordinal);
        return change switch
        {
            "none" or "trailing-empty-lines" or "appended-with-l" or "unsigned-field-added" => true,
            "header-spaces" or "header-name-case" => relaxedHeader,
            "body-spaces" => relaxedBody,
            _ => false,
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AgreesWithMimeKitAndDkimpy(string algorithm, string canonicalization, string change)
    {
        byte[] signed = await SignAsync(algorithm, canonicalization, bodyLength: change == "appended-with-l");
        byte[] changed = Change(signed, change);
        bool expected = Expected(canonicalization, change);

        DkimResult ours = Assert.Single(await VerifyAsync(changed));
        IReadOnlyList<DkimPy.Signature> py = await DkimPy.VerifyAsync(changed, dns.EndPoint);
        bool mimeKit = await MimeKitVerifiesAsync(changed);

        Assert.Equal((expected, expected, expected), (ours.Result == "pass", Assert.Single(py).Pass, mimeKit));
        Assert.Equal(expected ? null : "fail", expected ? ours.Reason : ours.Result);
        Assert.Equal(("sign.test", algorithm == "ed" ? "ed" : "arc", "@sign.test"), (ours.Domain, ours.Selector, ours.Identity));
        string b = Encoding.ASCII.GetString(changed).Split("b=")[^1];
        Assert.Equal(string.Concat(b.Where(c => !char.IsWhiteSpace(c)))[..8], ours.SignaturePrefix);
    }

    [Theory]
    [InlineData("body-word", "body hash did not verify")]
    [InlineData("subject-word", "signature did not verify")]
    [InlineData("appended", "body hash did not verify")]
    public async Task FailureSaysWhichHashDidNotVerify(string change, string reason)
    {
        DkimResult r = Assert.Single(await VerifyAsync(Change(await SignAsync("rsa", "relaxed/relaxed"), change)));
        Assert.Equal(("fail", reason), (r.Result, r.Reason));
    }

    [Fact]
    public async Task BodyShorterThanItsLengthCountFails()
    {
        byte[] signed = await SignAsync("rsa", "relaxed/relaxed", bodyLength: true);
        DkimResult r = Assert.Single(await VerifyAsync(Replace(signed, "\r\n.dot line", "")));
        Assert.Equal(("fail", "l= is longer than the body"), (r.Result, r.Reason));
    }

    [Theory]
    [InlineData("s=arc;", "s=missing;", "permerror", "no key record at missing._domainkey.sign.test")]
    [InlineData("s=arc;", "s=revoked;", "permerror", "key revoked")]
    [InlineData("s=arc;", "s=sha1only;", "permerror", "inappropriate hash algorithm")]
    [InlineData("a=rsa-sha256;", "a=ed25519-sha256;", "permerror", "inappropriate key algorithm")]
    [InlineData("s=arc;", "s=edtype;", "permerror", "Ed25519 key of 294 octets, not 32")]
    [InlineData("s=arc;", "s=web;", "permerror", "key record is not for email (s=web)")]
    [InlineData("s=arc;", "s=v2;", "permerror", "key record version DKIM2 is not DKIM1")]
    [InlineData("s=arc;|i=@sign.test;", "s=strict;|i=@sub.sign.test;", "permerror", "domain mismatch (the key's t=s forbids a subdomain in i=)")]
    [InlineData("a=rsa-sha256;", "a=rsa-sha1;", "permerror", "rsa-sha1 is not accepted (RFC 8301)")]
    [InlineData("a=rsa-sha256;", "a=rsa-md5;", "permerror", "unsupported algorithm rsa-md5")]
    [InlineData("v=1;", "v=2;", "permerror", "incompatible version")]
    [InlineData("i=@sign.test;", "i=@other.test;", "permerror", "domain mismatch (i= is not in d=)")]
    [InlineData("s=arc;", "s=arc; x=1000;", "permerror", "signature expired")]
    [InlineData("s=arc;", "s=arc; s=arc;", "permerror", "signature field is not a valid tag list")]
    [InlineData("q=dns/txt;", "q=http/well-known;", "permerror", "unsupported query method http/well-known")]
    [InlineData("c=relaxed/relaxed;", "c=relaxed/loose;", "permerror", "unsupported canonicalization relaxed/loose")]
    [InlineData(" bh=", " xh=", "permerror", "signature missing required tag bh=")]
    [InlineData("h=from : |: from;", "h=|;", "permerror", "From field not signed")]
    public async Task UnusableSignaturesAndKeysArePermanentErrors(string from, string to, string result, string reason)
    {
        byte[] signed = await SignAsync("rsa", "relaxed/relaxed");
        string[] froms = from.Split('|'), tos = to.Split('|');
        for (int i = 0; i < froms.Length; i++) signed = Replace(signed, froms[i], tos[i]);
        DkimResult r = Assert.Single(await VerifyAsync(signed));
        Assert.Equal((result, reason), (r.Result, r.Reason));
    }

    [Fact]
    public async Task KeyUnderTheMinimumSizeIsRefused()
    {
        DkimResult r = Assert.Single(await VerifyAsync(await SignAsyncWith(dns.SmallRsaKeyPath, "small")));
        Assert.Equal(("permerror", "RSA key of 768 bits; at least 1024 are required (RFC 8301)"), (r.Result, r.Reason));
    }

    [Fact]
    public async Task BareRsaPublicKeyInTheRecordIsRead()
    {
        DkimResult r = Assert.Single(await VerifyAsync(await SignAsyncWith(dns.ArcKeyPath, "pkcs1")));
        Assert.Equal(("pass", null), (r.Result, r.Reason));
    }

    private async Task<byte[]> SignAsyncWith(string key, string selector) =>
        await DkimPy.SignAsync(Message(), selector, "sign.test", key, "rsa-sha256", "relaxed/relaxed");

    [Fact]
    public async Task UnansweredKeyLookupIsATemporaryError()
    {
        var locator = Locator(new DnsResolverOptions { Servers = [dns.SilentEndPoint], Timeout = TimeSpan.FromSeconds(0.2), Retries = 0 });
        DkimResult r = Assert.Single(await VerifyAsync(await SignAsync("rsa", "relaxed/relaxed"), locator));
        Assert.Equal("temperror", r.Result);
        Assert.StartsWith("TXT arc._domainkey.sign.test: ", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EverySignatureIsCheckedInOrderUpToFive()
    {
        byte[] message = await SignAsync("rsa", "relaxed/relaxed");
        message = await SignAsync("ed", "simple/simple", message: message);
        Assert.Equal(["ed", "arc"], (await VerifyAsync(message)).Select(r => r.Selector + ":" + r.Result).Select(s => s.Split(':')[0]));
        Assert.All(await VerifyAsync(message), r => Assert.Equal("pass", r.Result));
        for (int i = 0; i < 5; i++) message = await SignAsync("rsa", "relaxed/simple", message: message);
        IReadOnlyList<DkimResult> results = await VerifyAsync(message);
        Assert.Equal(DkimSignatureVerifier.MaxSignatures, results.Count);
        Assert.All(results, r => Assert.Equal("pass", r.Result));
    }

    [Fact]
    public async Task UnsignedMessageHasNoResult() => Assert.Empty(await VerifyAsync(Message()));

    [Fact]
    public async Task LargeBodyFromAStreamThatCannotSeekVerifies()
    {
        string line = new string('x', 998) + "\r\n";
        byte[] signed = await SignAsync("rsa", "simple/relaxed", message: Message(string.Concat(Enumerable.Repeat(line, 700))));
        using var stream = new ForwardOnlyStream(signed);
        DkimResult r = Assert.Single(await new DkimSignatureVerifier(Locator()).VerifyAsync(stream, CancellationToken.None));
        Assert.Equal(("pass", null), (r.Result, r.Reason));
    }

    [Fact]
    public async Task HeaderSectionOverOneMebibyteIsAPermanentError()
    {
        var big = new StringBuilder();
        for (int i = 0; i < 11_000; i++) big.Append("X-Filler: ").Append(new string('f', 90)).Append("\r\n");
        byte[] message = [.. Encoding.ASCII.GetBytes(big.ToString()), .. Message()];
        DkimResult r = Assert.Single(await VerifyAsync(message));
        Assert.Equal(("permerror", "header section longer than 1 MiB"), (r.Result, r.Reason));
    }

    private sealed class ForwardOnlyStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public override bool CanSeek => false;

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }
}
