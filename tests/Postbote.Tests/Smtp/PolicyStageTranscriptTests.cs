using System.Security.Cryptography;
using System.Text;
using Postbote.Core;
using Postbote.Queue;
using Postbote.Security;

namespace Postbote.Tests.Smtp;

/// <summary>The HELO and end-of-data stages of the inbound policy through a real session: what the client is told, what
/// the policy sees (the whole message, also when it is on disk), and what the spool keeps (added header fields,
/// quarantine).</summary>
public sealed class PolicyStageTranscriptTests
{
    private sealed class StagePolicy(IInboundPolicy relay) : IInboundPolicy
    {
        public Func<string, PolicyDecision>? Helo { get; init; }
        public Func<InboundMessage, CancellationToken, Task<PolicyDecision>>? Data { get; init; }

        public ValueTask<PolicyDecision> CheckHeloAsync(SessionInfo session, string heloName, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Helo?.Invoke(heloName) ?? PolicyDecision.Accept);

        public ValueTask<PolicyDecision> CheckMailAsync(SessionInfo session, PolicyTransaction transaction, CancellationToken cancellationToken) =>
            relay.CheckMailAsync(session, transaction, cancellationToken);

        public ValueTask<PolicyDecision> CheckRecipientAsync(SessionInfo session, PolicyTransaction transaction, Mailbox recipient,
            CancellationToken cancellationToken) => relay.CheckRecipientAsync(session, transaction, recipient, cancellationToken);

        public async ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken) =>
            Data is null ? PolicyDecision.Accept : await Data(message, cancellationToken);
    }

    private static async Task<string> SendAsync(SmtpConnection c, string data)
    {
        await c.CommandAsync("EHLO client.example.org");
        await c.CommandAsync("MAIL FROM:<alice@example.org>");
        await c.CommandAsync("RCPT TO:<rcpt@example.com>");
        await c.CommandAsync("DATA");
        await c.SendAsync(data + ".\r\n");
        return (await c.ReadReplyAsync()).Text;
    }

    [Fact]
    public async Task AHeloRefusalIsTheReplyToEhloAndLeavesTheSessionWithoutAName()
    {
        var refusal = new SmtpReply(SmtpReplyCode.MailboxUnavailable, new EnhancedStatusCode(5, 7, 1), "Helo command rejected: not a valid name");
        await using var server = await SmtpTestServer.StartAsync(policy: relay => new StagePolicy(relay)
        {
            Helo = name => name == "localhost" ? PolicyDecision.Reject(refusal, "helo localhost") : PolicyDecision.Accept,
        });
        using var c = await server.ConnectAsync();

        Assert.Equal("550 5.7.1 Helo command rejected: not a valid name\r\n", (await c.CommandAsync("EHLO localhost")).Text);
        Assert.Equal("503 5.5.1 Error: send HELO/EHLO first\r\n", (await c.CommandAsync("MAIL FROM:<a@example.org>")).Text);
        Assert.StartsWith("250-mx.example.com\r\n", (await c.CommandAsync("EHLO client.example.org")).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheEndOfDataStageReadsTheWholeMessageAlsoWhenItIsOnDisk()
    {
        // 600 KiB: past the 256 KiB a body may keep in memory, so it is read back from its own file.
        string header = "From: alice@example.org\r\nTo: rcpt@example.com\r\nSubject: big\r\n\r\n";
        var body = new StringBuilder();
        for (int i = 0; body.Length < 600 * 1024; i++) body.Append("line ").Append(i).Append(" of a long message body\r\n");
        byte[] data = Encoding.ASCII.GetBytes(header + body);
        byte[]? seenHash = null;
        string? seenHeader = null;
        long seenSize = 0;
        bool complete = false;
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MessageSize = 2_000_000, policy: relay => new StagePolicy(relay)
        {
            Data = async (m, ct) =>
            {
                await using Stream s = m.OpenRead();
                seenHash = await SHA256.HashDataAsync(s, ct);
                seenHeader = Encoding.ASCII.GetString(m.HeaderSection.Span);
                complete = m.HeaderSectionComplete;
                seenSize = m.Size;
                return PolicyDecision.Accept;
            },
        });
        using var c = await server.ConnectAsync();

        Assert.StartsWith("250 2.0.0 Ok: queued as ", await SendAsync(c, Encoding.ASCII.GetString(data)), StringComparison.Ordinal);
        Assert.Equal(SHA256.HashData(data), seenHash);
        Assert.Equal(header, seenHeader);
        Assert.True(complete);
        Assert.Equal(data.Length, seenSize);
    }

    [Fact]
    public async Task AddedHeaderFieldsAndQuarantineAreKeptWithTheEnvelopeAndComeBeforeTheStoredMessage()
    {
        await using var server = await SmtpTestServer.StartAsync(policy: relay => new StagePolicy(relay)
        {
            Data = (m, ct) => Task.FromResult(PolicyDecision.AcceptWith(
                ["Authentication-Results: mx.example.com;\r\n\tspf=pass smtp.mailfrom=example.org", "X-Checked: yes"], quarantine: true, "test")),
        });
        using var c = await server.ConnectAsync();

        string reply = await SendAsync(c, "Subject: hello\r\n\r\nbody\r\n");
        var id = new QueueId(reply.TrimEnd()[^16..]);
        SpoolEntry entry = server.Spool.Read(id)!;

        const string added = "Authentication-Results: mx.example.com;\r\n\tspf=pass smtp.mailfrom=example.org\r\nX-Checked: yes\r\n";
        Assert.Equal(added, entry.Envelope.AddedHeaders);
        Assert.True(entry.Envelope.Quarantine);
        using var reader = new StreamReader(entry.OpenMessage(), Encoding.ASCII);
        string whole = await reader.ReadToEndAsync();
        Assert.StartsWith(added + "Received: from client.example.org", whole, StringComparison.Ordinal);
        Assert.EndsWith("\r\nSubject: hello\r\n\r\nbody\r\n", whole, StringComparison.Ordinal);
        Assert.Equal(whole.Length, entry.Envelope.MessageSize);
    }

    [Fact]
    public async Task APolicyThatThrowsDefersWith451_4_3_5AndNothingIsQueued()
    {
        await using var server = await SmtpTestServer.StartAsync(policy: relay => new StagePolicy(relay)
        {
            Data = (m, ct) => throw new InvalidOperationException("broken policy"),
        });
        using var c = await server.ConnectAsync();

        Assert.Equal("451 4.3.5 Error: temporary local problem checking the message, try again later\r\n", await SendAsync(c, "Subject: x\r\n\r\ny\r\n"));
        Assert.Empty(server.Spool.List());
        Assert.Equal(250, (await c.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task AHangingPolicyIsCancelledWhenTheConnectionTimesOutAndNothingIsQueued()
    {
        var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.IdleTimeout = TimeSpan.FromSeconds(1), policy: relay => new StagePolicy(relay)
        {
            Data = async (m, ct) =>
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(30), ct);
                }
                catch (OperationCanceledException)
                {
                    cancelled.TrySetResult(true);
                    throw;
                }
                return PolicyDecision.Accept;
            },
        });
        using var c = await server.ConnectAsync();

        await c.CommandAsync("EHLO client.example.org");
        await c.CommandAsync("MAIL FROM:<alice@example.org>");
        await c.CommandAsync("RCPT TO:<rcpt@example.com>");
        await c.CommandAsync("DATA");
        await c.SendAsync("Subject: x\r\n\r\ny\r\n.\r\n");

        Assert.True(await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await c.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
        Assert.Empty(server.Spool.List());
    }
}
