using System.Net;
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
}
