using System.Net;
using System.Text;
using Postbote.Security.Sasl;

namespace Postbote.Tests.Security;

/// <summary>LOGIN, draft-murchison-sasl-login: <c>Username:</c>, then <c>Password:</c>.</summary>
public sealed class LoginMechanismTests
{
    private static readonly SaslContext Tls = new(IPAddress.Loopback, true, new Dictionary<string, byte[]>());

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public async Task PromptsForUsernameThenPassword()
    {
        ISaslExchange exchange = new LoginMechanism(TestUsers.Store()).Start(Tls);
        SaslStep first = await exchange.StepAsync(null, default);
        Assert.Equal(SaslStepKind.Challenge, first.Kind);
        Assert.Equal("Username:", Encoding.ASCII.GetString(first.Data!));
        SaslStep second = await exchange.StepAsync(B("alice@example.com"), default);
        Assert.Equal(SaslStepKind.Challenge, second.Kind);
        Assert.Equal("Password:", Encoding.ASCII.GetString(second.Data!));
        SaslStep third = await exchange.StepAsync(B(TestUsers.AlicePassword), default);
        Assert.Equal(SaslStepKind.Success, third.Kind);
        Assert.Equal("alice@example.com", third.User);
    }

    [Fact]
    public async Task InitialResponseIsTheUsername()
    {
        ISaslExchange exchange = new LoginMechanism(TestUsers.Store()).Start(Tls);
        SaslStep first = await exchange.StepAsync(B("alice@example.com"), default);
        Assert.Equal("Password:", Encoding.ASCII.GetString(first.Data!));
        SaslStep second = await exchange.StepAsync(B(TestUsers.AlicePassword), default);
        Assert.Equal(SaslStepKind.Success, second.Kind);
    }

    [Fact]
    public async Task WrongPasswordFails()
    {
        ISaslExchange exchange = new LoginMechanism(TestUsers.Store()).Start(Tls);
        await exchange.StepAsync(B("alice@example.com"), default);
        SaslStep step = await exchange.StepAsync(B("wrong"), default);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
    }

    [Fact]
    public async Task UnknownUserFailsLikeAWrongPassword()
    {
        ISaslExchange exchange = new LoginMechanism(TestUsers.Store()).Start(Tls);
        SaslStep prompt = await exchange.StepAsync(B("nobody@example.com"), default);
        Assert.Equal("Password:", Encoding.ASCII.GetString(prompt.Data!));
        SaslStep step = await exchange.StepAsync(B(TestUsers.AlicePassword), default);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
    }

    [Fact]
    public async Task EmptyUsernameIsMalformed()
    {
        ISaslExchange exchange = new LoginMechanism(TestUsers.Store()).Start(Tls);
        await exchange.StepAsync(null, default);
        SaslStep step = await exchange.StepAsync([], default);
        Assert.Equal(SaslStepKind.Malformed, step.Kind);
    }
}
