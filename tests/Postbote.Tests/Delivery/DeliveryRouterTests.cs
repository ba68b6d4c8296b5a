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
                "TemporaryFailure 451 4.3.0 relaying not available",
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

    [Fact]
    public async Task ForwardedAliasTargetsAndLocalDomainsWithATransportGoToTheRemoteAgent()
    {
        var options = new LocalDeliveryOptions
        {
            Domains = ["example.com", "lmtp.example"],
            Mailboxes = ["alice@example.com", "carol@lmtp.example"],
            MaildirRoot = _dir.Combine("mail"),
        };
        options.Aliases["fwd@example.com"] = ["someone@remote.example", "alice@example.com"];
        options.Aliases["both@example.com"] = ["carol@lmtp.example", "someone@remote.example"];
        var remote = new RecordingAgent(r => r.Address.Domain == "remote.example"
            ? new RecipientResult(DeliveryOutcome.Delivered, new SmtpReply(SmtpReplyCode.Ok, EnhancedStatusCode.Success, "queued as R")) { RemoteHost = "mx[192.0.2.1]:25", Handover = DeliveryHandover.Relayed }
            : RecipientResult.Temporary("lmtp busy"));
        var transports = new TransportTable(new Dictionary<string, Transport> { ["lmtp.example"] = Transport.Parse("lmtp:unix:/run/lmtp") });
        var router = new DeliveryRouter(new LocalRecipients(options),
            new MaildirDeliveryAgent(options, _dir.Barrier, NullLogger<MaildirDeliveryAgent>.Instance, "mx"),
            NullLogger<DeliveryRouter>.Instance, remote, transports);

        string bodyPath = _dir.Combine("b.eml");
        File.WriteAllBytes(bodyPath, "\r\nx\r\n"u8.ToArray());
        Recipient[] recipients =
        [
            new(new Mailbox("fwd", "example.com"), DsnNotify.Success, "rfc822;fwd@example.com"),
            new(new Mailbox("carol", "lmtp.example")),
            new(new Mailbox("both", "example.com")),
        ];
        var envelope = new Envelope(new QueueId("0123456789ABCDEF"), null, recipients, DateTimeOffset.UnixEpoch, Size: 5);
        IReadOnlyList<RecipientResult> results = await router.DeliverAsync(new DeliveryRequest(envelope, bodyPath, recipients, false), CancellationToken.None);

        // One remote request: the forwarded target (once, though two aliases name it) and the LMTP mailbox, each with
        // the DSN parameters of the recipient it came from; alice's copy stays in the Maildir.
        RecordingAgent.Call call = Assert.Single(remote.Calls);
        Assert.Equal(["someone@remote.example", "carol@lmtp.example"], call.Recipients.Select(r => r.Address.ToString()));
        Assert.Equal(DsnNotify.Success, call.Recipients[0].Notify);
        Assert.Equal("rfc822;fwd@example.com", call.Recipients[0].OriginalRecipient);
        Assert.Single(Directory.GetFiles(_dir.Combine("mail", "example.com", "alice", "new")));
        Assert.False(Directory.Exists(_dir.Combine("mail", "remote.example")));
        Assert.False(Directory.Exists(_dir.Combine("mail", "lmtp.example")));
        // fwd: relayed and delivered -> delivered (the relayed result, remote host kept); carol: the LMTP deferral;
        // both: one copy deferred -> deferred.
        Assert.Equal(DeliveryOutcome.Delivered, results[0].Outcome);
        Assert.Equal("mx[192.0.2.1]:25", results[0].RemoteHost);
        Assert.Equal("451 4.3.0 lmtp busy", results[1].ReplyText);
        Assert.Equal(DeliveryOutcome.TemporaryFailure, results[2].Outcome);
    }

    private sealed class RecordingAgent(Func<Recipient, RecipientResult> answer) : IDeliveryAgent
    {
        public sealed record Call(IReadOnlyList<Recipient> Recipients);

        public List<Call> Calls { get; } = [];

        public Task<IReadOnlyList<RecipientResult>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
        {
            lock (Calls) Calls.Add(new Call(request.Recipients.ToList()));
            return Task.FromResult<IReadOnlyList<RecipientResult>>(request.Recipients.Select(answer).ToList());
        }
    }
}
