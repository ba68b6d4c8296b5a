using System.Net;
using System.Text;
using Postbote.Security.Sasl;

namespace Postbote.Tests.Security;

public sealed class SaslMechanismsTests
{
    [Fact]
    public void StrongestFirst()
    {
        var registry = new SaslMechanisms(TestUsers.Store(), new byte[32]);
        Assert.Equal(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN"], registry.Select(m => m.Name));
    }

    [Fact]
    public void LookupIgnoresCase()
    {
        var registry = new SaslMechanisms(TestUsers.Store());
        Assert.Equal("SCRAM-SHA-256", registry.Find("scram-sha-256")?.Name);
        Assert.Equal("PLAIN", registry.Find("Plain")?.Name);
        Assert.Null(registry.Find("CRAM-MD5"));
    }

    [Fact]
    public void OfferedDependsOnTheConnection()
    {
        var registry = new SaslMechanisms(TestUsers.Store());
        var clear = new SaslContext(IPAddress.Loopback, false, new Dictionary<string, byte[]>());
        Assert.Equal(["SCRAM-SHA-256"], registry.Offered(clear, allowPlaintext: false).Select(m => m.Name));
        var tls = new SaslContext(IPAddress.Loopback, true, new Dictionary<string, byte[]> { ["tls-server-end-point"] = [1, 2, 3] });
        Assert.Equal(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN"], registry.Offered(tls, allowPlaintext: false).Select(m => m.Name));
    }

    /// <summary>The documented bound of concurrent Argon2id checks (one per core) holds for PLAIN and LOGIN together:
    /// both use the registry's one <see cref="PasswordCheck"/>, not one each.</summary>
    [Fact]
    public void PlainAndLoginShareOneArgon2Limit()
    {
        var registry = new SaslMechanisms(TestUsers.Store());
        PasswordCheck shared = Assert.IsType<PasswordCheck>(registry.PasswordCheck);
        Assert.Equal(Environment.ProcessorCount, shared.Slots);
        var password = registry.OfType<PasswordMechanism>().ToList();
        Assert.Equal(["PLAIN", "LOGIN"], password.Select(m => m.Name));
        Assert.All(password, m => Assert.Same(shared, m.Check));
    }

    [Fact]
    public async Task ConcurrentPlainAndLoginChecksStayWithinTheSharedLimit()
    {
        var registry = new SaslMechanisms(TestUsers.Store());
        var context = new SaslContext(IPAddress.Loopback, true, new Dictionary<string, byte[]>());
        int each = 2 * Environment.ProcessorCount + 1;
        async Task<SaslStep> Plain()
        {
            return await registry.Find("PLAIN")!.Start(context)
                .StepAsync(Encoding.UTF8.GetBytes("\0alice@example.com\0" + TestUsers.AlicePassword), default);
        }
        async Task<SaslStep> Login()
        {
            ISaslExchange x = registry.Find("LOGIN")!.Start(context);
            await x.StepAsync(null, default);
            await x.StepAsync(Encoding.UTF8.GetBytes("alice@example.com"), default);
            return await x.StepAsync(Encoding.UTF8.GetBytes(TestUsers.AlicePassword), default);
        }
        var all = Enumerable.Range(0, each).SelectMany(_ => new[] { Task.Run(Plain), Task.Run(Login) }).ToArray();
        SaslStep[] steps = await Task.WhenAll(all).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.All(steps, s => Assert.Equal(SaslStepKind.Success, s.Kind));
        Assert.InRange(registry.PasswordCheck!.Peak, 1, Environment.ProcessorCount);
    }
}
