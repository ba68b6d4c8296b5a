using System.Net;
using Postbote.Security;

namespace Postbote.Tests.Security;

public sealed class AuthFailureLimiterTests
{
    private static readonly IPAddress Attacker = IPAddress.Parse("192.0.2.10");
    private static readonly IPAddress Bystander = IPAddress.Parse("192.0.2.11");

    private readonly ManualTimeProvider _time = new();

    private AuthFailureLimiter Limiter(int maxTracked = 100_000) =>
        new(new AuthFailureLimiterOptions { MaxTrackedAddresses = maxTracked }, _time);

    private static void Fail(AuthFailureLimiter limiter, IPAddress address, int times)
    {
        for (int i = 0; i < times; i++) limiter.RecordFailure(address);
    }

    [Fact]
    public void TwentyFailuresBlockTheNextAttemptEvenAfterSuccess()
    {
        AuthFailureLimiter limiter = Limiter();
        Fail(limiter, Attacker, 19);
        Assert.False(limiter.IsBlocked(Attacker, out _));
        limiter.RecordFailure(Attacker);
        Assert.True(limiter.IsBlocked(Attacker, out TimeSpan remaining));
        Assert.Equal(TimeSpan.FromMinutes(15), remaining);
        limiter.RecordSuccess(Attacker);
        Assert.True(limiter.IsBlocked(Attacker, out _));
    }

    [Fact]
    public void OtherAddressesAreUnaffected()
    {
        AuthFailureLimiter limiter = Limiter();
        Fail(limiter, Attacker, 20);
        Assert.True(limiter.IsBlocked(Attacker, out _));
        Assert.False(limiter.IsBlocked(Bystander, out TimeSpan remaining));
        Assert.Equal(TimeSpan.Zero, remaining);
    }

    [Fact]
    public void BlockEndsWhenTheBlockTimePasses()
    {
        AuthFailureLimiter limiter = Limiter();
        Fail(limiter, Attacker, 20);
        _time.Advance(TimeSpan.FromMinutes(14));
        Assert.True(limiter.IsBlocked(Attacker, out TimeSpan remaining));
        Assert.Equal(TimeSpan.FromMinutes(1), remaining);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(limiter.IsBlocked(Attacker, out _));
        // The count starts afresh.
        Fail(limiter, Attacker, 19);
        Assert.False(limiter.IsBlocked(Attacker, out _));
    }

    [Fact]
    public void FailuresOutsideTheWindowDoNotAddUp()
    {
        AuthFailureLimiter limiter = Limiter();
        Fail(limiter, Attacker, 19);
        _time.Advance(TimeSpan.FromMinutes(15));
        Fail(limiter, Attacker, 19);
        Assert.False(limiter.IsBlocked(Attacker, out _));
        limiter.RecordFailure(Attacker);
        Assert.True(limiter.IsBlocked(Attacker, out _));
    }

    [Fact]
    public void SuccessDoesNotResetTheCount()
    {
        AuthFailureLimiter limiter = Limiter();
        Fail(limiter, Attacker, 10);
        limiter.RecordSuccess(Attacker);
        Fail(limiter, Attacker, 10);
        Assert.True(limiter.IsBlocked(Attacker, out _));
    }

    [Fact]
    public void Ipv6IsCountedPerSlash64()
    {
        AuthFailureLimiter limiter = Limiter();
        for (int i = 0; i < 20; i++) limiter.RecordFailure(IPAddress.Parse($"2001:db8:1:2::{i + 1:x}"));
        Assert.True(limiter.IsBlocked(IPAddress.Parse("2001:db8:1:2:ffff::1"), out _));
        Assert.False(limiter.IsBlocked(IPAddress.Parse("2001:db8:1:3::1"), out _));
    }

    [Fact]
    public void Ipv4MappedAddressesCountAsIpv4()
    {
        AuthFailureLimiter limiter = Limiter();
        Fail(limiter, Attacker.MapToIPv6(), 20);
        Assert.True(limiter.IsBlocked(Attacker, out _));
    }

    [Fact]
    public void MemoryIsBoundedOldestFirst()
    {
        AuthFailureLimiter limiter = Limiter(maxTracked: 3);
        for (int i = 1; i <= 5; i++) limiter.RecordFailure(IPAddress.Parse($"198.51.100.{i}"));
        Assert.Equal(3, limiter.TrackedCount);
    }

    [Fact]
    public void ExpiredEntriesAreDropped()
    {
        AuthFailureLimiter limiter = Limiter();
        Fail(limiter, Attacker, 3);
        _time.Advance(TimeSpan.FromMinutes(16));
        limiter.RecordFailure(Bystander);
        Assert.Equal(1, limiter.TrackedCount);
    }

    [Fact]
    public void InvalidOptionsAreRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new AuthFailureLimiter(new AuthFailureLimiterOptions { MaxFailures = 0 }));

    [Fact]
    public void ReservationsInFlightCountAgainstTheLimit()
    {
        AuthFailureLimiter limiter = Limiter();
        for (int i = 0; i < 20; i++) Assert.True(limiter.TryBeginAttempt(Attacker));
        // 20 checks running at once: the 21st may not start, however many connections the address opens.
        Assert.False(limiter.TryBeginAttempt(Attacker));
        Assert.True(limiter.TryBeginAttempt(Bystander));
        for (int i = 0; i < 19; i++) limiter.EndAttempt(Attacker, failed: true);
        Assert.False(limiter.IsBlocked(Attacker, out _));
        Assert.False(limiter.TryBeginAttempt(Attacker)); // 19 failed + 1 still in flight
        limiter.EndAttempt(Attacker, failed: true);
        Assert.True(limiter.IsBlocked(Attacker, out _));
    }

    [Fact]
    public void SuccessAndAbandonedExchangesReleaseTheirReservation()
    {
        AuthFailureLimiter limiter = Limiter();
        for (int i = 0; i < 20; i++) Assert.True(limiter.TryBeginAttempt(Attacker));
        for (int i = 0; i < 20; i++) limiter.EndAttempt(Attacker, failed: false);
        for (int i = 0; i < 20; i++) Assert.True(limiter.TryBeginAttempt(Attacker));
        Assert.False(limiter.IsBlocked(Attacker, out _));
    }

    [Fact]
    public void AnEntryWithAttemptsInFlightIsNotPruned()
    {
        AuthFailureLimiter limiter = Limiter();
        Assert.True(limiter.TryBeginAttempt(Attacker));
        _time.Advance(TimeSpan.FromMinutes(16));
        limiter.RecordFailure(Bystander);
        Assert.Equal(2, limiter.TrackedCount);
    }
}
