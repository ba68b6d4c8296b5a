using System.Net;
using Postbote.Core;
using Postbote.Security;
using Postbote.Security.Ube;

namespace Postbote.Tests.Security.Ube;

/// <summary>Rate limits on a manual clock: hit, then released as time passes; per client, per /64, per user; trusted
/// networks exempt; idle clients forgotten.</summary>
public sealed class RateLimitPolicyTests
{
    // The Testing one: it moves GetTimestamp as well (Security's own ManualTimeProvider moves only the wall clock).
    private readonly Postbote.Testing.Dns.ManualTimeProvider time = new();

    private static SessionInfo From(string address, bool trusted = false, string? user = null) =>
        new("s", new IPEndPoint(IPAddress.Parse(address), 40000), new IPEndPoint(IPAddress.Loopback, 25), trusted, user);

    private static PolicyTransaction Mail() => new(new Mailbox("a", "example.org"));

    [Fact]
    public async Task ConnectionsPerClientAreRefusedWith421AndReleasedAfterTheirShareOfTheMinute()
    {
        using var policy = new RateLimitPolicy(new RateLimitOptions { ConnectionsPerClient = 3 }, "mx.test", time);
        for (int i = 0; i < 3; i++) Assert.Equal(PolicyVerdict.Accept, (await policy.CheckConnectAsync(From("192.0.2.1"), default)).Verdict);
        PolicyDecision over = await policy.CheckConnectAsync(From("192.0.2.1"), default);
        Assert.Equal(PolicyVerdict.Defer, over.Verdict);
        Assert.Equal("421 4.7.0 mx.test Error: too many connections from [192.0.2.1]\r\n", over.Reply!.ToString());
        Assert.Contains("client [192.0.2.1]", over.Reason, StringComparison.Ordinal);
        // Another client has its own limit.
        Assert.Equal(PolicyVerdict.Accept, (await policy.CheckConnectAsync(From("192.0.2.2"), default)).Verdict);
        // 3 per minute: one comes back every 20 s.
        time.Advance(TimeSpan.FromSeconds(19));
        Assert.Equal(PolicyVerdict.Defer, (await policy.CheckConnectAsync(From("192.0.2.1"), default)).Verdict);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(PolicyVerdict.Accept, (await policy.CheckConnectAsync(From("192.0.2.1"), default)).Verdict);
        Assert.Equal(PolicyVerdict.Defer, (await policy.CheckConnectAsync(From("192.0.2.1"), default)).Verdict);
        // A whole minute: all three again.
        time.Advance(TimeSpan.FromMinutes(1));
        for (int i = 0; i < 3; i++) Assert.Equal(PolicyVerdict.Accept, (await policy.CheckConnectAsync(From("192.0.2.1"), default)).Verdict);
    }

    [Fact]
    public async Task Ipv6ClientsOfOneSlash64ShareTheirLimit()
    {
        using var policy = new RateLimitPolicy(new RateLimitOptions { ConnectionsPerClient = 1 }, "mx.test", time);
        Assert.Equal(PolicyVerdict.Accept, (await policy.CheckConnectAsync(From("2001:db8:1:2::1"), default)).Verdict);
        Assert.Equal(PolicyVerdict.Defer, (await policy.CheckConnectAsync(From("2001:db8:1:2:ffff::9"), default)).Verdict);
        Assert.Equal(PolicyVerdict.Accept, (await policy.CheckConnectAsync(From("2001:db8:1:3::1"), default)).Verdict);
        Assert.Equal("2001:db8:1:2::/64", RateLimitPolicy.ClientKey(IPAddress.Parse("2001:db8:1:2:ffff::9")));
    }

    [Fact]
    public async Task MessagesPerClientAndPerUserAreDeferredWith451AndReleased()
    {
        using var policy = new RateLimitPolicy(new RateLimitOptions { MessagesPerClient = 2, MessagesPerUser = 1 }, "mx.test", time);
        Assert.Equal(PolicyVerdict.Accept, (await policy.CheckMailAsync(From("192.0.2.1"), Mail(), default)).Verdict);
        Assert.Equal(PolicyVerdict.Accept, (await policy.CheckMailAsync(From("192.0.2.1"), Mail(), default)).Verdict);
        PolicyDecision client = await policy.CheckMailAsync(From("192.0.2.1"), Mail(), default);
        Assert.Equal("451 4.7.1 Error: too much mail from [192.0.2.1]: rate limit exceeded\r\n", client.Reply!.ToString());

        // The user's own limit, from any address; the client limit does not apply to it.
        Assert.Equal(PolicyVerdict.Accept, (await policy.CheckMailAsync(From("192.0.2.1", user: "alice"), Mail(), default)).Verdict);
        PolicyDecision user = await policy.CheckMailAsync(From("198.51.100.7", user: "Alice"), Mail(), default);
        Assert.Equal("451 4.7.1 Error: too much mail from user Alice: rate limit exceeded\r\n", user.Reply!.ToString());

        // Two per hour: one back after 30 minutes; the user's one after an hour.
        time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(PolicyVerdict.Accept, (await policy.CheckMailAsync(From("192.0.2.1"), Mail(), default)).Verdict);
        Assert.Equal(PolicyVerdict.Defer, (await policy.CheckMailAsync(From("192.0.2.1", user: "alice"), Mail(), default)).Verdict);
        time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(PolicyVerdict.Accept, (await policy.CheckMailAsync(From("192.0.2.1", user: "alice"), Mail(), default)).Verdict);
    }

    [Fact]
    public async Task RecipientsPerClientAreDeferredWith451()
    {
        using var policy = new RateLimitPolicy(new RateLimitOptions { RecipientsPerClient = 1 }, "mx.test", time);
        var rcpt = new Mailbox("rcpt", "example.com");
        Assert.Equal(PolicyVerdict.Accept, (await policy.CheckRecipientAsync(From("192.0.2.1"), Mail(), rcpt, default)).Verdict);
        PolicyDecision over = await policy.CheckRecipientAsync(From("192.0.2.1"), Mail(), rcpt, default);
        Assert.Equal("451 4.7.1 Error: too many recipients from [192.0.2.1]: rate limit exceeded\r\n", over.Reply!.ToString());
    }

    [Fact]
    public async Task TrustedNetworksAreExempt()
    {
        using var policy = new RateLimitPolicy(new RateLimitOptions { ConnectionsPerClient = 1, MessagesPerClient = 1 }, "mx.test", time);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(PolicyVerdict.Accept, (await policy.CheckConnectAsync(From("10.0.0.1", trusted: true), default)).Verdict);
            Assert.Equal(PolicyVerdict.Accept, (await policy.CheckMailAsync(From("10.0.0.1", trusted: true), Mail(), default)).Verdict);
        }
    }

    [Fact]
    public void IdleClientsAreForgottenAndTheTableIsBounded()
    {
        using var limiter = new KeyedRateLimiter(2, TimeSpan.FromMinutes(1), maxKeys: 100, time);
        for (int i = 0; i < 100; i++) Assert.True(limiter.AttemptAcquire("client" + i).IsAcquired);
        Assert.Equal(100, limiter.Count);
        // Full table: a new key is let through untracked rather than growing the table.
        Assert.True(limiter.AttemptAcquire("late").IsAcquired);
        Assert.True(limiter.AttemptAcquire("late").IsAcquired);
        Assert.True(limiter.AttemptAcquire("late").IsAcquired);
        Assert.Equal(100, limiter.Count);
        // A window later every bucket is full again: the next new key sweeps them away.
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(limiter.AttemptAcquire("fresh").IsAcquired);
        Assert.Equal(1, limiter.Count);
    }
}
