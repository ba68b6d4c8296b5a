using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Dkim;
using Postbote.Dns;
using Postbote.Security;
using Postbote.Testing.Dkim;

namespace Postbote.Tests.Dkim;

/// <summary>
/// ARC (RFC 8617) against dkimpy: a chain made by dkimpy's arc_sign (what its arcsign command does) passes the
/// "ARC verify" policy, which records <c>arc=pass</c> with <c>smtp.remote-ip</c>; a changed body fails; a message
/// without ARC is <c>none</c> without being read. Our seal (<see cref="ArcSealer"/>) passes dkimpy's arc_verify, as a
/// first set and as the second set of a dkimpy chain.
/// </summary>
public sealed class ArcTests(DkimZonesFixture dns) : IClassFixture<DkimZonesFixture>
{
    private static readonly IPEndPoint Client = new(IPAddress.Parse("127.0.0.9"), 40000);

    private static byte[] Message(string authResults) => Encoding.ASCII.GetBytes(
        authResults +
        "From: Alice <alice@other.test>\r\nTo: list@sign.test\r\nSubject: arc test\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n" +
        "Message-ID: <arc@other.test>\r\n\r\nbody line\r\n");

    private DnsResolver Resolver() => new(new DnsResolverOptions { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) }, TimeProvider.System);

    private async Task<byte[]> DkimpyChainAsync() =>
        await DkimPy.ArcSignAsync(Message("Authentication-Results: relay.sign.test; spf=pass smtp.mailfrom=other.test\r\n"),
            dns.EndPoint, "arc", "sign.test", dns.ArcKeyPath, "relay.sign.test");

    private async Task<(AuthenticationResult? Result, bool Opened)> VerifyAsync(byte[] message, bool trusted = false)
    {
        var policy = new ArcVerifyPolicy(Resolver(), NullLogger<ArcVerifyPolicy>.Instance);
        var transaction = new PolicyTransaction(new Mailbox("alice", "other.test"));
        int end = Encoding.ASCII.GetString(message).IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        bool opened = false;
        var inbound = new InboundMessage(QueueId.New(DateTimeOffset.UtcNow), transaction, [new Recipient(new Mailbox("list", "sign.test"))],
            message.AsMemory(0, end), true, message.Length, () =>
            {
                opened = true;
                return new MemoryStream(message, writable: false);
            });
        var session = new SessionInfo("s1", Client, new IPEndPoint(IPAddress.Loopback, 25), trusted);
        PolicyDecision decision = await policy.CheckDataAsync(session, inbound, CancellationToken.None);
        Assert.Equal(PolicyVerdict.Accept, decision.Verdict);
        Assert.Null(decision.AddHeaders);
        return (transaction.Find("arc"), opened);
    }

    [Fact]
    public async Task ChainMadeByDkimpyPassesAndIsRecorded()
    {
        byte[] chain = await DkimpyChainAsync();
        Assert.StartsWith("ARC-Seal: i=1;", Encoding.ASCII.GetString(chain), StringComparison.Ordinal);

        (AuthenticationResult? result, _) = await VerifyAsync(chain);

        Assert.NotNull(result);
        Assert.Equal("pass", result.Result);
        Assert.Equal("127.0.0.9", result.Get("smtp", "remote-ip"));
        Assert.Equal("1 ARC set(s)", result.Reason);
    }

    [Fact]
    public async Task ChainWhoseBodyChangedFails()
    {
        byte[] chain = await DkimpyChainAsync();
        byte[] changed = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(chain).Replace("body line", "body LINE", StringComparison.Ordinal));
        (AuthenticationResult? result, _) = await VerifyAsync(changed);
        Assert.Equal("fail", result?.Result);
    }

    [Fact]
    public async Task MessageWithoutArcIsNoneWithoutReadingIt()
    {
        (AuthenticationResult? result, bool opened) = await VerifyAsync(Message(""));
        Assert.Equal("none", result?.Result);
        Assert.False(opened);
    }

    [Fact]
    public async Task TrustedNetworkIsNotChecked()
    {
        (AuthenticationResult? result, bool opened) = await VerifyAsync(await DkimpyChainAsync(), trusted: true);
        Assert.Null(result);
        Assert.False(opened);
    }

    [Fact]
    public async Task OurSealPassesInDkimpyArcVerify()
    {
        byte[] message = Message("Authentication-Results: mx.sign.test; dkim=none\r\n");
        DkimSigningKey key = dns.Ring().For("sign.test")[0];
        string set = await new ArcSealer("mx.sign.test").SealAsync(new MemoryStream(message), key, TimeProvider.System, CancellationToken.None);

        Assert.StartsWith("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=sign.test; s=rsa;", set, StringComparison.Ordinal);
        Assert.Contains("\r\nARC-Authentication-Results: i=1; mx.sign.test; dkim=none\r\n", set, StringComparison.Ordinal);
        DkimPy.ArcVerdict verdict = await DkimPy.ArcVerifyAsync([.. Encoding.ASCII.GetBytes(set), .. message], dns.EndPoint);
        Assert.Equal(("pass", 1), (verdict.Cv, verdict.Instances));
    }

    [Fact]
    public async Task OurSealExtendsADkimpyChainWithOurVerdict()
    {
        byte[] chain = await DkimpyChainAsync();
        byte[] received = [.. Encoding.ASCII.GetBytes("Authentication-Results: mx.sign.test; arc=pass smtp.remote-ip=127.0.0.9\r\n"), .. chain];
        DkimSigningKey key = dns.Ring().For("sign.test")[0];
        string set = await new ArcSealer("mx.sign.test").SealAsync(new MemoryStream(received), key, TimeProvider.System, CancellationToken.None);

        Assert.StartsWith("ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=sign.test; s=rsa;", set, StringComparison.Ordinal);
        DkimPy.ArcVerdict verdict = await DkimPy.ArcVerifyAsync([.. Encoding.ASCII.GetBytes(set), .. received], dns.EndPoint);
        Assert.True(("pass", 2) == (verdict.Cv, verdict.Instances), verdict.Reason + "\n" + set);
    }

    [Fact]
    public async Task ChainWithoutOurVerdictIsNotExtended()
    {
        byte[] chain = await DkimpyChainAsync();
        DkimSigningKey key = dns.Ring().For("sign.test")[0];
        string set = await new ArcSealer("mx.sign.test").SealAsync(new MemoryStream(chain), key, TimeProvider.System, CancellationToken.None);
        Assert.Equal("", set);
    }
}
