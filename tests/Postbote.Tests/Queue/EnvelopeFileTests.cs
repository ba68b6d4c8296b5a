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
            new Recipient(new Mailbox("jörg", "bücher.example"), DsnNotify.Default, null, DeliveryStatus.Held),
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
        new RecipientQueueState(3, new DateTimeOffset(2024, 5, 17, 9, 0, 0, TimeSpan.Zero))
        {
            LastAttemptAt = new DateTimeOffset(2024, 5, 17, 8, 40, 0, 123, TimeSpan.Zero),
            RemoteHost = "mx1.example.net[192.0.2.1]:25",
            DelayNotified = true,
        }.WithReply(new SmtpReply(SmtpReplyCode.LocalError, EnhancedStatusCode.TemporarySystemError, "relaying not available yet")),
        new RecipientQueueState(1) { Handover = DeliveryHandover.RelayedWithDsn }
            .WithReply(new SmtpReply(SmtpReplyCode.Ok, EnhancedStatusCode.Success, "delivered to maildir")),
        new RecipientQueueState(2).WithReply(new SmtpReply(SmtpReplyCode.MailboxUnavailable, EnhancedStatusCode.BadDestinationMailbox, "no such mailbox here \"quoted\" \\ back")),
        new RecipientQueueState(1) { Handover = DeliveryHandover.Relayed }.WithReply(new SmtpReply(SmtpReplyCode.Ok, null, ["first line", "second line"])),
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

public class EnvelopeFileVersionTests
{
    /// <summary>A record as version 1 wrote it (before per-recipient hand-over, remote host and reply parts).</summary>
    private const string Version1 =
        "{\"v\":1,\"id\":\"0123456789ABCDEF\",\"received\":\"2024-05-17T08:30:12.345+00:00\",\"from\":{\"l\":\"john\",\"d\":\"example.org\"}," +
        "\"body\":\"8bitmime\",\"smtputf8\":false,\"ret\":\"hdrs\",\"envid\":\"QQ314159\",\"ip\":\"192.0.2.7\",\"helo\":\"client.example.org\",\"size\":42," +
        "\"rcpts\":[" +
        "{\"l\":\"alice\",\"d\":\"example.com\",\"notify\":6,\"orcpt\":\"rfc822;alice@example.com\",\"status\":\"deferred\",\"attempts\":3," +
        "\"next\":\"2024-05-17T09:00:00+00:00\",\"reply\":\"451 4.3.0 relaying not available yet\"}," +
        "{\"l\":\"bob\",\"d\":\"example.com\",\"status\":\"failed\",\"attempts\":1,\"reply\":\"550 5.1.1 no such user\"}," +
        "{\"l\":\"carol\",\"d\":\"example.com\",\"status\":\"queued\"}," +
        "{\"l\":\"dave\",\"d\":\"example.com\",\"status\":\"deferred\",\"attempts\":1,\"reply\":\"delivery agent error\"}]}";

    [Fact]
    public void HandWrittenVersion1RecordIsRead()
    {
        SpoolEntry entry = EnvelopeFile.Parse(Encoding.UTF8.GetBytes(Version1), "/spool/seg", isRecovered: true);

        Assert.Equal("0123456789ABCDEF", entry.Envelope.Id.Value);
        Assert.Equal(42, entry.Envelope.Size);
        Assert.Equal([DeliveryStatus.Deferred, DeliveryStatus.Failed, DeliveryStatus.Queued, DeliveryStatus.Deferred],
            entry.Envelope.Recipients.Select(r => r.Status));
        Assert.Equal(DsnNotify.Success | DsnNotify.Failure, entry.Envelope.Recipients[0].Notify);
        Assert.Equal("rfc822;alice@example.com", entry.Envelope.Recipients[0].OriginalRecipient);

        RecipientQueueState alice = entry.States[0];
        Assert.Equal(3, alice.Attempts);
        Assert.Equal(new DateTimeOffset(2024, 5, 17, 9, 0, 0, TimeSpan.Zero), alice.NextAttemptAt);
        Assert.Equal("451 4.3.0 relaying not available yet", alice.LastReply);
        Assert.Equal(451, alice.LastReplyCode);
        Assert.Equal(new EnhancedStatusCode(4, 3, 0), alice.LastReplyStatus);
        Assert.Equal("relaying not available yet", alice.LastReplyText);
        Assert.Null(alice.RemoteHost);
        Assert.False(alice.DelayNotified);

        Assert.Equal("550 5.1.1 no such user", entry.States[1].LastReply);
        Assert.Equal(new EnhancedStatusCode(5, 1, 1), entry.States[1].LastReplyStatus);
        Assert.Equal(default, entry.States[2]);
        // A reply text without a code stays as it was, with no parts made up.
        Assert.Equal("delivery agent error", entry.States[3].LastReply);
        Assert.Null(entry.States[3].LastReplyCode);
    }

    [Fact]
    public void Version1RecordWrittenAgainIsVersion2WithTheReplyInParts()
    {
        SpoolEntry entry = EnvelopeFile.Parse(Encoding.UTF8.GetBytes(Version1), "/spool/seg", isRecovered: true);
        using var buffer = new PooledBufferWriter(64);
        EnvelopeFile.Write(buffer, entry.Envelope, entry.States);
        string text = Encoding.UTF8.GetString(buffer.WrittenSpan);

        Assert.StartsWith("{\"v\":2,", text, StringComparison.Ordinal);
        Assert.Contains("\"code\":550,\"esc\":\"5.1.1\",\"text\":\"no such user\"", text, StringComparison.Ordinal);
        Assert.Contains("\"reply\":\"delivery agent error\"", text, StringComparison.Ordinal);
        Assert.True(EnvelopeFile.TryVerify(buffer.WrittenSpan, out ReadOnlySpan<byte> json));
        Assert.Equal(entry.States, EnvelopeFile.Parse(json, "/spool/seg", true).States);
    }

    [Fact]
    public void Version2FieldsAreSeparate()
    {
        var envelope = new Envelope(new QueueId("0000000000000000"), null,
            new[] { new Recipient(new Mailbox("a", "b.example"), Status: DeliveryStatus.Held) }, DateTimeOffset.UnixEpoch);
        RecipientQueueState state = new RecipientQueueState(2, null)
        {
            RemoteHost = "mx.b.example[192.0.2.9]:25",
            LastAttemptAt = new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero),
            DelayNotified = true,
            Handover = DeliveryHandover.Relayed,
        }.WithReply(new SmtpReply(SmtpReplyCode.MailboxUnavailable, EnhancedStatusCode.BadDestinationMailbox, "no such user"));
        using var buffer = new PooledBufferWriter(64);
        EnvelopeFile.Write(buffer, envelope, [state]);
        string text = Encoding.UTF8.GetString(buffer.WrittenSpan);

        Assert.Contains("\"status\":\"held\",\"attempts\":2,\"last\":\"2025-01-31T12:00:00+00:00\",\"code\":550,\"esc\":\"5.1.1\",\"text\":\"no such user\"," +
            "\"host\":\"mx.b.example[192.0.2.9]:25\",\"dn\":true,\"handover\":\"relayed\"", text, StringComparison.Ordinal);
        Assert.Equal("550 5.1.1 no such user", state.LastReply);
    }

    [Fact]
    public void HeldIsNoVersion1Status()
    {
        string held = Version1.Replace("\"status\":\"queued\"", "\"status\":\"held\"", StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => EnvelopeFile.Parse(Encoding.UTF8.GetBytes(held), "b", false));
    }
}
