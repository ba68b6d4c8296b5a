using System.Net;
using System.Text;
using Postbote.Security.Sasl;

namespace Postbote.Tests.Security;

/// <summary>PLAIN, RFC 4616 §2: <c>message = [authzid] UTF8NUL authcid UTF8NUL passwd</c>.</summary>
public sealed class PlainMechanismTests
{
    private static readonly SaslContext Tls = new(IPAddress.Loopback, true, new Dictionary<string, byte[]>());

    private static async Task<SaslStep> RunAsync(string message, bool initial = true)
    {
        ISaslExchange exchange = new PlainMechanism(TestUsers.Store()).Start(Tls);
        if (!initial)
        {
            SaslStep challenge = await exchange.StepAsync(null, default);
            Assert.Equal(SaslStepKind.Challenge, challenge.Kind);
            Assert.Empty(challenge.Data!);
        }
        return await exchange.StepAsync(Encoding.UTF8.GetBytes(message), default);
    }

    [Fact]
    public async Task RightPasswordSucceedsAsTheStoredName()
    {
        SaslStep step = await RunAsync("\0ALICE@example.com\0" + TestUsers.AlicePassword);
        Assert.Equal(SaslStepKind.Success, step.Kind);
        Assert.Equal("alice@example.com", step.User);
        Assert.Null(step.Data);
    }

    [Fact]
    public async Task WithoutInitialResponseTheServerSendsAnEmptyChallenge()
    {
        SaslStep step = await RunAsync("\0alice@example.com\0" + TestUsers.AlicePassword, initial: false);
        Assert.Equal(SaslStepKind.Success, step.Kind);
    }

    [Fact]
    public async Task AuthzidEqualToAuthcidIgnoringCaseSucceeds()
    {
        SaslStep step = await RunAsync("Alice@Example.com\0alice@example.com\0" + TestUsers.AlicePassword);
        Assert.Equal(SaslStepKind.Success, step.Kind);
        Assert.Equal("alice@example.com", step.User);
    }

    [Fact]
    public async Task AuthzidOfAnotherUserFails()
    {
        SaslStep step = await RunAsync("admin@example.com\0alice@example.com\0" + TestUsers.AlicePassword);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
        Assert.Contains("authorization identity not permitted", step.Reason);
    }

    [Fact]
    public async Task AuthzidOfAnotherUserFailsEvenForAnySender()
    {
        SaslStep step = await RunAsync("alice@example.com\0admin@example.com\0admin secret");
        Assert.Equal(SaslStepKind.Failure, step.Kind);
        Assert.Contains("authorization identity not permitted", step.Reason);
    }

    [Fact]
    public async Task WrongPasswordFails()
    {
        SaslStep step = await RunAsync("\0alice@example.com\0wrong");
        Assert.Equal(SaslStepKind.Failure, step.Kind);
        Assert.Null(step.User);
    }

    [Fact]
    public async Task UnknownUserFails()
    {
        SaslStep step = await RunAsync("\0nobody@example.com\0" + TestUsers.AlicePassword);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
    }

    [Theory]
    [InlineData("alice@example.com")]
    [InlineData("\0alice@example.com")]
    [InlineData("\0alice@example.com\0pw\0extra")]
    [InlineData("\0\0password")]
    [InlineData("\0alice@example.com\0")]
    [InlineData("")]
    public async Task MalformedMessagesAreMalformed(string message)
    {
        SaslStep step = await RunAsync(message);
        Assert.Equal(SaslStepKind.Malformed, step.Kind);
    }

    [Fact]
    public async Task InvalidUtf8IsMalformed()
    {
        ISaslExchange exchange = new PlainMechanism(TestUsers.Store()).Start(Tls);
        SaslStep step = await exchange.StepAsync([0, (byte)'a', 0, 0xC3, 0x28], default);
        Assert.Equal(SaslStepKind.Malformed, step.Kind);
    }

    [Fact]
    public async Task AStepAfterTheEndFails()
    {
        ISaslExchange exchange = new PlainMechanism(TestUsers.Store()).Start(Tls);
        await exchange.StepAsync(Encoding.UTF8.GetBytes("\0alice@example.com\0" + TestUsers.AlicePassword), default);
        SaslStep again = await exchange.StepAsync(Encoding.UTF8.GetBytes("\0alice@example.com\0" + TestUsers.AlicePassword), default);
        Assert.Equal(SaslStepKind.Failure, again.Kind);
    }

    [Fact]
    public async Task EmptyChallengesAreBoundedToThreeSteps()
    {
        ISaslExchange exchange = new PlainMechanism(TestUsers.Store()).Start(Tls);
        Assert.Equal(SaslStepKind.Challenge, (await exchange.StepAsync(null, default)).Kind);
        Assert.Equal(SaslStepKind.Challenge, (await exchange.StepAsync(null, default)).Kind);
        Assert.Equal(SaslStepKind.Challenge, (await exchange.StepAsync(null, default)).Kind);
        Assert.Equal(SaslStepKind.Failure, (await exchange.StepAsync(null, default)).Kind);
    }
}
