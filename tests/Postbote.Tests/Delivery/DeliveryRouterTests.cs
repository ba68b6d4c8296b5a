using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Delivery;
using Postbote.IO;
using Postbote.Queue;
using Postbote.Routing;

namespace Postbote.Tests.Delivery;

public sealed class DeliveryRouterTests : IDisposable
{
    private readonly DeliveryDirectory _dir = new(SyncMode.FsyncEachFile);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task RoutesLocalAliasUnknownAndRemoteRecipients()
    {
        var options = new LocalDeliveryOptions
        {
            Domains = ["example.com"],
            Mailboxes = ["alice@example.com", "bob@example.com"],
            MaildirRoot = _dir.Combine("mail"),
        };
        options.Aliases["team@example.com"] = ["alice@example.com", "bob@example.com"];
        var router = new DeliveryRouter(new LocalRecipients(options),
            new MaildirDeliveryAgent(options, _dir.Barrier, NullLogger<MaildirDeliveryAgent>.Instance, "mx"),
            NullLogger<DeliveryRouter>.Instance);

        string bodyPath = _dir.Combine("b.eml");
        File.WriteAllBytes(bodyPath, "\r\nx\r\n"u8.ToArray());
        Recipient[] recipients =
        [
            new(new Mailbox("Alice", "Example.com")),
            new(new Mailbox("team", "example.com")),
            new(new Mailbox("someone", "remote.example")),
            new(new Mailbox("ghost", "example.com")),
            new(new Mailbox("Postmaster", "")),
        ];
        var envelope = new Envelope(new QueueId("0123456789ABCDEF"), null, recipients, DateTimeOffset.UnixEpoch, Size: 5);
        IReadOnlyList<RecipientResult> results = await router.DeliverAsync(new DeliveryRequest(envelope, bodyPath, recipients, false), CancellationToken.None);

        Assert.Equal(
            [
                "Delivered 250 2.0.0 delivered to maildir",
                "Delivered 250 2.0.0 delivered to maildir",
                "TemporaryFailure 451 4.3.0 relaying not available yet",
                "PermanentFailure 550 5.1.1 no such mailbox here",
                "Delivered 250 2.0.0 delivered to maildir",
            ],
            results.Select(r => r.Outcome + " " + r.ReplyText));
        // alice is named twice (directly and through the alias) and gets one copy.
        Assert.Single(Directory.GetFiles(_dir.Combine("mail", "example.com", "alice", "new")));
        Assert.Single(Directory.GetFiles(_dir.Combine("mail", "example.com", "bob", "new")));
        string postmaster = Assert.Single(Directory.GetFiles(_dir.Combine("mail", "example.com", "postmaster", "new")));
        Assert.Equal("Return-Path: <>\nDelivered-To: postmaster@example.com\n\nx\n", File.ReadAllText(postmaster));
    }
}
