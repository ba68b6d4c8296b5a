using System.Text;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>A queued message for the relaying tests: its body in a file behind some unrelated bytes (so the agent
/// must honour <see cref="DeliveryRequest.BodyOffset"/>), and the request to deliver it.</summary>
internal sealed class RelayTestMessage : IDisposable
{
    private static readonly byte[] Prefix = "PBR2 bytes of an earlier record\r\n.\r\n"u8.ToArray();
    private readonly string _dir = Directory.CreateTempSubdirectory("postbote-relay-").FullName;

    public RelayTestMessage(string body, params string[] recipients) : this(Encoding.UTF8.GetBytes(body), recipients)
    {
    }

    public RelayTestMessage(byte[] body, string[] recipients, BodyType type = BodyType.SevenBit, bool smtpUtf8 = false,
        Func<Recipient, Recipient>? recipient = null, DsnReturn ret = DsnReturn.Default, string? envelopeId = null, string? sender = "alice@example.com",
        string? addedHeaders = null)
    {
        Body = body;
        string path = Path.Combine(_dir, "seg.log");
        File.WriteAllBytes(path, [.. Prefix, .. body, .. "trailing record"u8]);
        Recipient[] list = recipients.Select(r =>
        {
            int at = r.LastIndexOf('@');
            var x = new Recipient(new Mailbox(r[..at], r[(at + 1)..]));
            return recipient is null ? x : recipient(x);
        }).ToArray();
        Mailbox? from = sender is null ? null : new Mailbox(sender[..sender.IndexOf('@')], sender[(sender.IndexOf('@') + 1)..]);
        var envelope = new Envelope(QueueId.New(DateTimeOffset.UtcNow), from, list, DateTimeOffset.UtcNow, type, smtpUtf8, ret, envelopeId,
            Size: body.Length, AddedHeaders: addedHeaders);
        Request = new DeliveryRequest(envelope, path, list, false) { BodyOffset = Prefix.Length };
    }

    public byte[] Body { get; }

    public DeliveryRequest Request { get; }

    /// <summary>The body as DATA carries it: dot-stuffed, ending in ".CRLF".</summary>
    public byte[] DotStuffed()
    {
        string s = Encoding.Latin1.GetString(Body);
        var sb = new StringBuilder();
        foreach (string line in s.Split("\r\n")[..^1]) sb.Append(line.StartsWith('.') ? "." + line : line).Append("\r\n");
        sb.Append(".\r\n");
        return Encoding.Latin1.GetBytes(sb.ToString());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
