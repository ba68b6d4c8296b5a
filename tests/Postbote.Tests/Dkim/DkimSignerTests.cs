using System.Security.Cryptography;
using System.Text;
using Postbote.Dkim;
using Postbote.Testing.Dkim;

namespace Postbote.Tests.Dkim;

/// <summary>
/// Messages signed by <see cref="DkimMessageSigner"/> verify in dkimpy (RSA-SHA256 and Ed25519-SHA256, RFC 6376 and
/// RFC 8463), the public keys served by nsd on loopback; a message altered after signing fails; a large body is read
/// forward from a stream that cannot seek, and never held.
/// </summary>
public sealed class DkimSignerTests(DkimZonesFixture dns) : IClassFixture<DkimZonesFixture>
{
    private static byte[] Message(string from, string body) => Encoding.ASCII.GetBytes(
        $"Received: from client.test by mx.test; Thu, 1 Jan 2026 00:00:00 +0000\r\n" +
        $"From: Alice <alice@{from}>\r\nTo: bob@example.org,\r\n\tcarol@example.org\r\nSubject:  folded   and\r\n  spaced  \r\n" +
        "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <1@sign.test>\r\nMIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=us-ascii\r\nList-Id: <list.sign.test>\r\n\r\n" + body);

    private async Task<(string Fields, byte[] Signed)> SignAsync(byte[] message)
    {
        var signer = new DkimMessageSigner(dns.Ring());
        using var stream = new MemoryStream(message, writable: false);
        string fields = await signer.SignAsync(stream, CancellationToken.None);
        return (fields, [.. Encoding.ASCII.GetBytes(fields), .. message]);
    }

    [Fact]
    public async Task BothAlgorithmsVerifyInDkimpy()
    {
        byte[] message = Message("sign.test", "line with trailing space  \r\n\t tabbed   words\r\n\r\n.dot line\r\n\r\n\r\n");
        (string fields, byte[] signed) = await SignAsync(message);

        IReadOnlyList<DkimPy.Signature> sigs = await DkimPy.VerifyAsync(signed, dns.EndPoint);
        Assert.Equal(2, sigs.Count);
        Assert.Equal(("rsa-sha256", "sign.test", "rsa", true), (sigs[0].Algorithm, sigs[0].Domain, sigs[0].Selector, sigs[0].Pass));
        Assert.Equal(("ed25519-sha256", "sign.test", "ed", true), (sigs[1].Algorithm, sigs[1].Domain, sigs[1].Selector, sigs[1].Pass));
        // From, To and Subject oversigned; every present field of the list signed; Received never.
        Assert.Equal("from:from:to:to:subject:subject:date:message-id:mime-version:content-type:list-id", sigs[0].SignedHeaders);
        Assert.StartsWith("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sign.test; s=rsa;\r\n\tt=", fields, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MessageAlteredAfterSigningFailsInDkimpy()
    {
        byte[] message = Message("sign.test", "the amount is 100 euros\r\n");
        (_, byte[] signed) = await SignAsync(message);
        string text = Encoding.ASCII.GetString(signed);
        byte[] body = Encoding.ASCII.GetBytes(text.Replace("100 euros", "900 euros", StringComparison.Ordinal));
        byte[] header = Encoding.ASCII.GetBytes(text.Replace("Subject:  folded", "Subject:  FOLDED", StringComparison.Ordinal));
        // An added From: is caught by oversigning (RFC 6376 §8.15).
        byte[] from = Encoding.ASCII.GetBytes(text.Replace("\r\n\r\nthe amount", "\r\nFrom: mallory@evil.test\r\n\r\nthe amount", StringComparison.Ordinal));

        Assert.All(await DkimPy.VerifyAsync(signed, dns.EndPoint), s => Assert.True(s.Pass));
        Assert.All(await DkimPy.VerifyAsync(body, dns.EndPoint), s => Assert.False(s.Pass));
        Assert.All(await DkimPy.VerifyAsync(header, dns.EndPoint), s => Assert.False(s.Pass));
        Assert.All(await DkimPy.VerifyAsync(from, dns.EndPoint), s => Assert.False(s.Pass));
    }

    [Fact]
    public async Task LargeBodyIsHashedFromANonSeekableStreamWithoutBeingHeld()
    {
        // 4 MiB of lines, random letters so that no compression of any kind hides anything.
        var body = new StringBuilder();
        var random = new Random(11);
        while (body.Length < 4 * 1024 * 1024)
        {
            for (int i = 0; i < 76; i++) body.Append((char)('a' + random.Next(26)));
            body.Append(" \r\n");
        }
        byte[] message = Message("sign.test", body.ToString());
        var signer = new DkimMessageSigner(dns.Ring());
        await signer.SignAsync(new ForwardOnlyStream(new MemoryStream(message)), CancellationToken.None); // warm-up

        var stream = new ForwardOnlyStream(new MemoryStream(message));
        long before = GC.GetAllocatedBytesForCurrentThread();
        string fields = await signer.SignAsync(stream, CancellationToken.None);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(message.Length, stream.Consumed);
        Assert.True(stream.LargestRead <= 64 * 1024, $"largest read {stream.LargestRead} bytes");
        // The 4 MiB body is not held: the signer allocates a small fraction of it (header section, signature work).
        Assert.True(allocated < 512 * 1024, $"allocated {allocated} bytes for a {message.Length}-byte message");
        IReadOnlyList<DkimPy.Signature> sigs = await DkimPy.VerifyAsync([.. Encoding.ASCII.GetBytes(fields), .. message], dns.EndPoint);
        Assert.Equal([true, true], sigs.Select(s => s.Pass));
    }

    [Fact]
    public async Task MailFromAnotherDomainIsNotSignedAndItsBodyNotRead()
    {
        byte[] message = Message("other.test", new string('x', 200_000) + "\r\n");
        var stream = new ForwardOnlyStream(new MemoryStream(message));
        string fields = await new DkimMessageSigner(dns.Ring()).SignAsync(stream, CancellationToken.None);
        Assert.Equal("", fields);
        Assert.True(stream.Consumed <= 64 * 1024, $"read {stream.Consumed} bytes");
    }

    [Fact]
    public async Task SubdomainOfASigningDomainIsNotSigned()
    {
        (string fields, _) = await SignAsync(Message("mail.sign.test", "hi\r\n"));
        Assert.Equal("", fields);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("\r\n\r\n", "")]
    [InlineData("a", "a\r\n")]
    [InlineData(" a  b \t\r\n", " a b\r\n")]
    [InlineData("\r\na\r\n \r\n\r\n", "\r\na\r\n")]
    [InlineData("a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n")]
    [InlineData("a\nb\n", "a\r\nb\r\n")]
    [InlineData("a\rb\r\n", "a\rb\r\n")]
    public void RelaxedBodyCanonicalization(string body, string canonical)
    {
        using var hash = new RelaxedBodyHash();
        // Fed one octet at a time: the state crosses every chunk boundary.
        foreach (byte b in Encoding.ASCII.GetBytes(body)) hash.Append([b]);
        Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes(canonical)), hash.Complete());
    }

    [Theory]
    [InlineData("Subject:  a \t b  ", "subject:a b")]
    [InlineData("SUBJECT \t: x\r\n\ty\r\n z ", "subject:x y z")]
    [InlineData("To:", "to:")]
    public void RelaxedHeaderCanonicalization(string field, string canonical)
    {
        var output = new List<byte>();
        HeaderField.Relaxed(Encoding.ASCII.GetBytes(field), output);
        Assert.Equal(canonical, Encoding.ASCII.GetString([.. output]));
    }

    /// <summary>A stream that only reads forward and records its reads.</summary>
    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public long Consumed { get; private set; }

        public int LargestRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            LargestRead = Math.Max(LargestRead, buffer.Length);
            int n = inner.Read(buffer);
            Consumed += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
