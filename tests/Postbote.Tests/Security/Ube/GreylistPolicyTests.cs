using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Security;
using Postbote.Security.Ube;
using Postbote.Testing;

namespace Postbote.Tests.Security.Ube;

/// <summary>Greylisting on a manual clock with the file store in a temporary directory.</summary>
public sealed class GreylistPolicyTests : IDisposable
{
    // The Testing one: it moves GetTimestamp as well (Security's own ManualTimeProvider moves only the wall clock).
    private readonly Postbote.Testing.Dns.ManualTimeProvider time = new();
    private readonly TempDirectory dir = new();
    private readonly GreylistOptions options = new() { Enabled = true };
    private static readonly Mailbox Rcpt = new("rcpt", "example.com");

    public void Dispose() => dir.Dispose();

    private GreylistPolicy Open() =>
        new(options, new FileGreylistStore(dir.Combine("greylist"), options, time, NullLogger.Instance), null, time, NullLogger.Instance);

    private static SessionInfo From(string address, bool trusted = false, string? user = null) =>
        new("s", new IPEndPoint(IPAddress.Parse(address), 40000), new IPEndPoint(IPAddress.Loopback, 25), trusted, user);

    private static PolicyTransaction Mail(string? from = "a@example.org") =>
        new(from is null ? null : new Mailbox(from[..from.IndexOf('@')], from[(from.IndexOf('@') + 1)..]));

    private static async Task<string> ReplyAsync(GreylistPolicy p, string client, string? from = "a@example.org", Mailbox? rcpt = null)
    {
        PolicyDecision d = await p.CheckRecipientAsync(From(client), Mail(from), rcpt ?? Rcpt, default);
        return d.Verdict == PolicyVerdict.Accept ? "accept" : d.Reply!.ToString().TrimEnd();
    }

    [Fact]
    public async Task FirstAttemptIs451ThenTheSecondsLeftThenAcceptedAfterTheDelay()
    {
        using GreylistPolicy p = Open();
        Assert.Equal("451 4.7.1 Greylisted, try again in 300 seconds", await ReplyAsync(p, "192.0.2.1"));
        time.Advance(TimeSpan.FromSeconds(100.5));
        Assert.Equal("451 4.7.1 Greylisted, try again in 200 seconds", await ReplyAsync(p, "192.0.2.1"));
        time.Advance(TimeSpan.FromSeconds(199.5));
        Assert.Equal("accept", await ReplyAsync(p, "192.0.2.1"));
        // Passed: at once from now on, from any address of the /24.
        Assert.Equal("accept", await ReplyAsync(p, "192.0.2.200"));
        // Another network, sender or recipient is another triplet.
        Assert.StartsWith("451", await ReplyAsync(p, "192.0.3.1"), StringComparison.Ordinal);
        Assert.StartsWith("451", await ReplyAsync(p, "192.0.2.1", from: "b@example.org"), StringComparison.Ordinal);
        Assert.StartsWith("451", await ReplyAsync(p, "192.0.2.1", from: null), StringComparison.Ordinal);
        Assert.StartsWith("451", await ReplyAsync(p, "192.0.2.1", rcpt: new Mailbox("alice", "example.com")), StringComparison.Ordinal);
        // Case does not make a new triplet.
        Assert.Equal("accept", await ReplyAsync(p, "192.0.2.1", from: "A@EXAMPLE.ORG", rcpt: new Mailbox("RCPT", "Example.com")));
    }

    [Fact]
    public async Task RetryAfterTheRetryWindowStartsAgain()
    {
        using GreylistPolicy p = Open();
        await ReplyAsync(p, "192.0.2.1");
        time.Advance(TimeSpan.FromDays(2) + TimeSpan.FromSeconds(1));
        Assert.Equal("451 4.7.1 Greylisted, try again in 300 seconds", await ReplyAsync(p, "192.0.2.1"));
    }

    [Fact]
    public async Task PassedTripletExpiresAfterThirtyFiveDaysWithoutMail()
    {
        using GreylistPolicy p = Open();
        await ReplyAsync(p, "192.0.2.1");
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal("accept", await ReplyAsync(p, "192.0.2.1"));
        time.Advance(TimeSpan.FromDays(34));
        Assert.Equal("accept", await ReplyAsync(p, "192.0.2.1")); // mail within 35 days keeps it
        time.Advance(TimeSpan.FromDays(35) + TimeSpan.FromSeconds(1));
        Assert.StartsWith("451", await ReplyAsync(p, "192.0.2.1"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StateSurvivesReopeningAndExpiredTripletsArePurged()
    {
        using (GreylistPolicy p = Open())
        {
            await ReplyAsync(p, "192.0.2.1");                   // deferred, retry pending
            await ReplyAsync(p, "198.51.100.1");                // will expire
            time.Advance(TimeSpan.FromMinutes(5));
            Assert.Equal("accept", await ReplyAsync(p, "192.0.2.1"));
            Assert.Equal(2, p.Store.Count);
        }
        time.Advance(TimeSpan.FromDays(3));
        using (GreylistPolicy p = Open())
        {
            // The passed one is remembered; the one never retried within two days is gone.
            Assert.Equal(1, p.Store.Count);
            Assert.Equal("accept", await ReplyAsync(p, "192.0.2.1"));
            Assert.StartsWith("451", await ReplyAsync(p, "198.51.100.1"), StringComparison.Ordinal);
        }
        string[] lines = File.ReadAllLines(dir.Combine("greylist", "triplets"));
        Assert.Equal(FileGreylistStore.Header, lines[0]);
    }

    [Fact]
    public async Task TornLastLineIsSkipped()
    {
        using (GreylistPolicy p = Open()) await ReplyAsync(p, "192.0.2.1");
        await File.AppendAllTextAsync(dir.Combine("greylist", "triplets"), "0123456789abcdef0123456789ab");
        time.Advance(TimeSpan.FromMinutes(5));
        using GreylistPolicy reopened = Open();
        Assert.Equal(1, reopened.Store.Count);
        Assert.Equal("accept", await ReplyAsync(reopened, "192.0.2.1"));
    }

    [Fact]
    public async Task TrustedAndAuthenticatedSessionsAreNotGreylisted()
    {
        using GreylistPolicy p = Open();
        Assert.Equal(PolicyVerdict.Accept, (await p.CheckRecipientAsync(From("10.0.0.1", trusted: true), Mail(), Rcpt, default)).Verdict);
        Assert.Equal(PolicyVerdict.Accept, (await p.CheckRecipientAsync(From("192.0.2.9", user: "alice"), Mail(), Rcpt, default)).Verdict);
        Assert.Equal(0, p.Store.Count);
    }
}
