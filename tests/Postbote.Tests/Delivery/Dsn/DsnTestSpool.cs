using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Delivery.Dsn;

/// <summary>A real spool in a temporary directory holding originals to report on, and the parsing helpers the DSN tests
/// share.</summary>
internal sealed class DsnTestSpool : IDisposable
{
    private readonly TempDirectory _dir = new();

    public DsnTestSpool()
    {
        Spool = new Spool(new SpoolOptions
        {
            Directory = _dir.Combine("spool"),
            CorruptDirectory = _dir.Combine("corrupt"),
        }, NullLogger<Spool>.Instance);
    }

    public Spool Spool { get; }

    public static readonly DateTimeOffset Arrived = new(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);
    public static readonly DateTimeOffset LastAttempt = new(2025, 3, 4, 9, 10, 11, TimeSpan.Zero);
    public static readonly DateTimeOffset Now = new(2025, 3, 4, 12, 0, 0, TimeSpan.Zero);

    /// <summary>An original with a Received header, a dot-leading line and 8-bit UTF-8 text, CRLF line ends.</summary>
    public static readonly byte[] Original = Encoding.UTF8.GetBytes(
        "Received: from client.example.org ([192.0.2.7]) by mx.postbote.test with ESMTP id 0000000000000001;\r\n" +
        "\tTue, 4 Mar 2025 05:06:07 +0000\r\n" +
        "From: Sender <sender@example.org>\r\n" +
        "To: bob@example.net, carol@example.net\r\n" +
        "Subject: Quarterly figures\r\n" +
        "Message-ID: <orig-1@example.org>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "Content-Transfer-Encoding: 8bit\r\n" +
        "\r\n" +
        "Grüße,\r\n" +
        ".a line with a leading dot\r\n" +
        "the figures.\r\n");

    /// <summary>The header section of <see cref="Original"/>, up to the CRLF of its last field.</summary>
    public static byte[] OriginalHeaders
    {
        get
        {
            int end = Original.AsSpan().IndexOf("\r\n\r\n"u8);
            return Original.AsSpan(0, end + 2).ToArray();
        }
    }

    /// <summary>Commits <paramref name="body"/> for the given recipients (each <c>address</c>, NOTIFY and ORCPT) and
    /// returns its spool entry with the given per-recipient states.</summary>
    public async Task<SpoolEntry> CommitAsync(byte[] body, Mailbox? sender, (string Address, DsnNotify Notify, string? Orcpt)[] recipients,
        RecipientQueueState[] states, DsnReturn ret = DsnReturn.Default, string? envid = null, BodyType bodyType = BodyType.EightBitMime)
    {
        QueueId id = QueueId.New(DateTimeOffset.UtcNow);
        await using (IMessageWriter writer = await Spool.BeginAsync(id, CancellationToken.None))
        {
            await writer.WriteAsync(body, CancellationToken.None);
            var envelope = new Envelope(id, sender,
                recipients.Select(r => new Recipient(Mailbox(r.Address), r.Notify, r.Orcpt, DeliveryStatus.Failed)).ToArray(),
                Arrived, bodyType, Return: ret, EnvelopeId: envid, ClientAddress: "192.0.2.7", HeloName: "client.example.org");
            await writer.CommitAsync(envelope, CancellationToken.None);
        }
        while (Spool.Committed.TryRead(out _))
        {
        }
        SpoolEntry entry = Spool.Read(id) ?? throw new InvalidOperationException("The committed original is not in the spool.");
        return entry with { States = states };
    }

    public static Mailbox Mailbox(string address)
    {
        int at = address.LastIndexOf('@');
        return new Mailbox(address[..at], address[(at + 1)..]);
    }

    public static RecipientQueueState Failed(string reply, string? host = "mx1.example.net[192.0.2.25]:25") =>
        new(3, null, reply) { RemoteHost = host, LastAttemptAt = LastAttempt };

    public static MimeMessage Parse(byte[] bytes) => MimeMessage.Load(new MemoryStream(bytes));

    public static MultipartReport Report(MimeMessage message) => Assert.IsType<MultipartReport>(message.Body);

    public static MultipartReport Report(byte[] bytes) => Report(Parse(bytes));

    /// <summary>The field of a status group by name, unfolded (RFC 5322 §2.2.3), or <c>null</c>.</summary>
    public static string? Field(HeaderList group, string name) =>
        group.FirstOrDefault(h => string.Equals(h.Field, name, StringComparison.OrdinalIgnoreCase)) is { } h
            ? System.Text.RegularExpressions.Regex.Replace(h.Value, "\r?\n(?=[ \t])", "").Trim()
            : null;

    public void Dispose()
    {
        Spool.Dispose();
        _dir.Dispose();
    }
}
