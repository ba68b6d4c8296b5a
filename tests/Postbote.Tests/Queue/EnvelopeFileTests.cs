using System.Text;
using Postbote.Core;
using Postbote.IO;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

public class EnvelopeFileTests
{
    internal static Envelope FullEnvelope() => new(
        new QueueId("0123456789ABCDEF"),
        new Mailbox("\"john doe\"", "example.org"),
        new[]
        {
            new Recipient(new Mailbox("alice", "example.com"), DsnNotify.Success | DsnNotify.Failure, "rfc822;alice@example.com", DeliveryStatus.Queued),
            new Recipient(new Mailbox("bob", "example.com"), DsnNotify.Never, null, DeliveryStatus.Deferred),
            new Recipient(new Mailbox("carol", "remote.example"), DsnNotify.Default, "utf-8;car\\x{00F6}l@remote.example", DeliveryStatus.Delivered),
            new Recipient(new Mailbox("dave", "example.com"), DsnNotify.Delay, null, DeliveryStatus.Failed),
            new Recipient(new Mailbox("Postmaster", ""), DsnNotify.Default, null, DeliveryStatus.Queued),
            new Recipient(new Mailbox("jörg", "bücher.example"), DsnNotify.Default, null, DeliveryStatus.Queued),
        },
        new DateTimeOffset(2024, 5, 17, 8, 30, 12, 345, TimeSpan.Zero).AddTicks(6789),
        BodyType.EightBitMime,
        SmtpUtf8: true,
        Return: DsnReturn.Headers,
        EnvelopeId: "QQ314159+2B",
        ClientAddress: "2001:db8::1",
        HeloName: "mail.example.org",
        Size: 123456);

    internal static RecipientQueueState[] States() =>
    [
        default,
        new(3, new DateTimeOffset(2024, 5, 17, 9, 0, 0, TimeSpan.Zero), "451 4.3.0 relaying not available yet"),
        new(1, null, "250 2.0.0 delivered to maildir"),
        new(2, null, "550 5.1.1 no such mailbox here \"quoted\" \\ back"),
        default,
        default,
    ];

    [Fact]
    public void EveryFieldRoundTrips()
    {
        Envelope envelope = FullEnvelope();
        RecipientQueueState[] states = States();
        using var buffer = new PooledBufferWriter(64);
        EnvelopeFile.Write(buffer, envelope, states);

        Assert.True(EnvelopeFile.TryVerify(buffer.WrittenSpan, out ReadOnlySpan<byte> json));
        SpoolEntry entry = EnvelopeFile.Parse(json, "/spool/x.eml", isRecovered: true);

        Envelope back = entry.Envelope;
        Assert.Equal(envelope.Id, back.Id);
        Assert.Equal(envelope.ReversePath, back.ReversePath);
        Assert.Equal(envelope.ReceivedAt, back.ReceivedAt);
        Assert.Equal(envelope.ReceivedAt.Ticks, back.ReceivedAt.Ticks);
        Assert.Equal(BodyType.EightBitMime, back.Body);
        Assert.True(back.SmtpUtf8);
        Assert.Equal(DsnReturn.Headers, back.Return);
        Assert.Equal("QQ314159+2B", back.EnvelopeId);
        Assert.Equal("2001:db8::1", back.ClientAddress);
        Assert.Equal("mail.example.org", back.HeloName);
        Assert.Equal(123456L, back.Size);
        Assert.Equal(envelope.Recipients, back.Recipients); // Recipient is a record: value equality per element
        Assert.Equal(states, entry.States);
        Assert.Equal("/spool/x.eml", entry.BodyPath);
        Assert.True(entry.IsRecovered);
    }

    [Fact]
    public void NullReversePathAndDefaultsRoundTrip()
    {
        var envelope = new Envelope(new QueueId("0000000000000000"), null,
            new[] { new Recipient(new Mailbox("a", "b.example")) }, DateTimeOffset.UnixEpoch);
        using var buffer = new PooledBufferWriter(64);
        EnvelopeFile.Write(buffer, envelope, null);
        Assert.True(EnvelopeFile.TryVerify(buffer.WrittenSpan, out ReadOnlySpan<byte> json));
        Envelope back = EnvelopeFile.Parse(json, "b", false).Envelope;
        Assert.Null(back.ReversePath);
        Assert.Equal("<>", back.ReversePathText);
        Assert.Equal(BodyType.SevenBit, back.Body);
        Assert.Equal(DsnReturn.Default, back.Return);
        Assert.Null(back.EnvelopeId);
        Assert.False(back.SmtpUtf8);
        Assert.Equal(envelope.Recipients, back.Recipients);
    }

    [Fact]
    public void TrailerIsCrc32cOfEverythingBefore()
    {
        var envelope = new Envelope(new QueueId("0000000000000000"), null,
            new[] { new Recipient(new Mailbox("a", "b.example")) }, DateTimeOffset.UnixEpoch);
        using var buffer = new PooledBufferWriter(64);
        EnvelopeFile.Write(buffer, envelope, null);
        string text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        int trailer = text.LastIndexOf("#crc32c=", StringComparison.Ordinal);
        Assert.Equal(text.Length - 17, trailer);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.Equal('\n', text[trailer - 1]);
        uint crc = Crc32C.Compute(buffer.WrittenSpan[..trailer]);
        Assert.Equal(crc.ToString("X8", System.Globalization.CultureInfo.InvariantCulture), text.Substring(trailer + 8, 8));
    }

    [Fact]
    public void Crc32cCheckValue() => Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));

    [Fact]
    public void EveryTruncationIsRejected()
    {
        using var buffer = new PooledBufferWriter(64);
        EnvelopeFile.Write(buffer, FullEnvelope(), States());
        byte[] full = buffer.WrittenSpan.ToArray();
        for (int length = 0; length < full.Length; length++)
        {
            Assert.False(EnvelopeFile.TryVerify(full.AsSpan(0, length), out _), $"accepted a torn file of {length} bytes");
        }
    }

    [Fact]
    public void AFlippedByteIsRejected()
    {
        using var buffer = new PooledBufferWriter(64);
        EnvelopeFile.Write(buffer, FullEnvelope(), States());
        byte[] bytes = buffer.WrittenSpan.ToArray();
        bytes[20] ^= 0x01;
        Assert.False(EnvelopeFile.TryVerify(bytes, out _));
    }

    [Fact]
    public void UnknownVersionIsAFormatError()
    {
        byte[] json = Encoding.UTF8.GetBytes("{\"v\":99,\"id\":\"0000000000000000\"}");
        Assert.Throws<FormatException>(() => EnvelopeFile.Parse(json, "b", false));
    }
}
