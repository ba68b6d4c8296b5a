using System.Net;
using System.Security.Cryptography;
using System.Text;
using Postbote.Security.Sasl;
using Postbote.Security.Users;

namespace Postbote.Tests.Security;

/// <summary>SCRAM-SHA-256 and -PLUS: RFC 5802, RFC 7677, channel binding per RFC 5056 / 5929 / 9266.</summary>
public sealed class ScramSha256MechanismTests
{
    private static readonly byte[] Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly SaslContext NoTls = new(IPAddress.Loopback, false, new Dictionary<string, byte[]>());
    private static readonly byte[] EndPoint = SHA256.HashData("server certificate"u8);
    private static readonly SaslContext TlsWithBinding = new(IPAddress.Loopback, true,
        new Dictionary<string, byte[]> { [ChannelBindingTypes.TlsServerEndPoint] = EndPoint });

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string S(byte[]? b) => Encoding.UTF8.GetString(b!);

    // ---- RFC 7677 §3 ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Rfc7677TestVector()
    {
        UserRecord user = new("user", PasswordHasher.DummyHash,
            PasswordHasher.DeriveScram("pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096), [], false);
        var mechanism = new ScramSha256Mechanism(new InMemoryUserStore(user), channelBinding: false, Secret,
            () => "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
        ISaslExchange exchange = mechanism.Start(NoTls);

        SaslStep serverFirst = await exchange.StepAsync(B("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"), default);
        Assert.Equal(SaslStepKind.Challenge, serverFirst.Kind);
        Assert.Equal("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", S(serverFirst.Data));

        SaslStep serverFinal = await exchange.StepAsync(
            B("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="), default);
        Assert.Equal(SaslStepKind.Success, serverFinal.Kind);
        Assert.Equal("user", serverFinal.User);
        Assert.Equal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", S(serverFinal.Data));
    }

    [Fact]
    public async Task WithoutInitialResponseTheServerSendsAnEmptyChallenge()
    {
        ISaslExchange exchange = Plain().Start(NoTls);
        SaslStep step = await exchange.StepAsync(null, default);
        Assert.Equal(SaslStepKind.Challenge, step.Kind);
        Assert.Empty(step.Data!);
        Assert.Equal(SaslStepKind.Success, (await Client.RunAsync(exchange, "alice@example.com", TestUsers.AlicePassword, "n,,")).Kind);
    }

    [Fact]
    public async Task RightPasswordSucceedsWithServerSignature()
    {
        SaslStep step = await Client.RunAsync(Plain().Start(NoTls), "alice@example.com", TestUsers.AlicePassword, "n,,");
        Assert.Equal(SaslStepKind.Success, step.Kind);
        Assert.Equal("alice@example.com", step.User);
        Assert.StartsWith("v=", S(step.Data));
    }

    [Fact]
    public async Task WrongPasswordFails()
    {
        SaslStep step = await Client.RunAsync(Plain().Start(NoTls), "alice@example.com", "wrong", "n,,");
        Assert.Equal(SaslStepKind.Failure, step.Kind);
    }

    [Fact]
    public async Task UnknownUserRunsToTheEndWithAStableFakeSaltThenFails()
    {
        ISaslExchange one = Plain().Start(NoTls);
        string first1 = S((await one.StepAsync(B("n,,n=nobody@example.com,r=abc"), default)).Data);
        ISaslExchange two = Plain().Start(NoTls);
        string first2 = S((await two.StepAsync(B("n,,n=Nobody@Example.com,r=abc"), default)).Data);
        string salt(string m) => m.Split(',')[1];
        Assert.Equal(salt(first1), salt(first2));
        Assert.Equal(16, Convert.FromBase64String(salt(first1)[2..]).Length);
        Assert.EndsWith($",i={PasswordHasher.ScramIterations}", first1);

        SaslStep step = await Client.RunAsync(Plain().Start(NoTls), "nobody@example.com", "whatever", "n,,");
        Assert.Equal(SaslStepKind.Failure, step.Kind);
        Assert.Contains("unknown user", step.Reason);
    }

    [Fact]
    public async Task ServerNonceIs24RandomBytesAfterTheClientNonce()
    {
        SaslStep step = await Plain().Start(NoTls).StepAsync(B("n,,n=alice@example.com,r=clientnonce"), default);
        string nonce = S(step.Data).Split(',')[0][2..];
        Assert.StartsWith("clientnonce", nonce);
        Assert.Equal(24, Convert.FromBase64String(nonce["clientnonce".Length..]).Length);
    }

    [Fact]
    public async Task NonceMismatchFails()
    {
        ISaslExchange exchange = Plain().Start(NoTls);
        await exchange.StepAsync(B("n,,n=alice@example.com,r=abc"), default);
        SaslStep step = await exchange.StepAsync(B("c=biws,r=abcdef,p=" + Convert.ToBase64String(new byte[32])), default);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
    }

    [Fact]
    public async Task AuthzidOfAnotherUserFails()
    {
        SaslStep step = await Client.RunAsync(Plain().Start(NoTls), "alice@example.com", TestUsers.AlicePassword, "n,a=admin@example.com,");
        Assert.Equal(SaslStepKind.Failure, step.Kind);
        Assert.Contains("authorization identity not permitted", step.Reason);
    }

    [Fact]
    public async Task AuthzidOfTheSameUserSucceeds()
    {
        SaslStep step = await Client.RunAsync(Plain().Start(NoTls), "alice@example.com", TestUsers.AlicePassword, "n,a=Alice@example.com,");
        Assert.Equal(SaslStepKind.Success, step.Kind);
    }

    [Theory]
    [InlineData("n,,m=ext,n=alice@example.com,r=abc")] // RFC 5802 §5.1: m= MUST fail
    [InlineData("n,,n=al=2Dice,r=abc")] // '=' not followed by 2C or 3D
    public async Task FailsPerRfc5802(string clientFirst)
    {
        SaslStep step = await Plain().Start(NoTls).StepAsync(B(clientFirst), default);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
    }

    [Theory]
    [InlineData("x,,n=alice,r=abc")]
    [InlineData("n,n=alice,r=abc")]
    [InlineData("n,,r=abc")]
    [InlineData("n,,n=alice")]
    [InlineData("n,,n=,r=abc")]
    [InlineData("n,,n=alice,r=")]
    [InlineData("n")]
    public async Task MalformedClientFirst(string clientFirst)
    {
        SaslStep step = await Plain().Start(NoTls).StepAsync(B(clientFirst), default);
        Assert.Equal(SaslStepKind.Malformed, step.Kind);
    }

    [Fact]
    public async Task SaslnameEscapesAreDecoded()
    {
        var user = TestUsers.Make("a,b=c", "pw");
        var mechanism = new ScramSha256Mechanism(new InMemoryUserStore(user), false, Secret);
        SaslStep step = await Client.RunAsync(mechanism.Start(NoTls), "a,b=c", "pw", "n,,");
        Assert.Equal(SaslStepKind.Success, step.Kind);
        Assert.Equal("a,b=c", step.User);
    }

    // ---- channel binding (RFC 5802 §6) --------------------------------------------------------------------------------

    [Fact]
    public async Task YFlagWhilePlusIsOfferedIsADowngrade()
    {
        SaslStep step = await Plain().Start(TlsWithBinding).StepAsync(B("y,,n=alice@example.com,r=abc"), default);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
        Assert.Contains("downgrade", step.Reason);
    }

    [Fact]
    public async Task YFlagWithoutChannelBindingOnTheConnectionIsFine()
    {
        SaslStep step = await Client.RunAsync(Plain().Start(NoTls), "alice@example.com", TestUsers.AlicePassword, "y,,");
        Assert.Equal(SaslStepKind.Success, step.Kind);
    }

    [Fact]
    public async Task PFlagWithThePlainVariantFails()
    {
        SaslStep step = await Plain().Start(TlsWithBinding).StepAsync(B("p=tls-server-end-point,,n=alice@example.com,r=abc"), default);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
    }

    [Fact]
    public void PlusIsAvailableOnlyWithChannelBindingData()
    {
        Assert.False(Plus().IsAvailable(NoTls));
        Assert.True(Plus().IsAvailable(TlsWithBinding));
        Assert.True(Plain().IsAvailable(NoTls));
        Assert.Equal("SCRAM-SHA-256-PLUS", Plus().Name);
        Assert.False(Plus().IsPlaintext);
    }

    [Fact]
    public async Task PlusWithMatchingChannelBindingSucceeds()
    {
        SaslStep step = await Client.RunAsync(Plus().Start(TlsWithBinding), "alice@example.com", TestUsers.AlicePassword,
            "p=tls-server-end-point,,", EndPoint);
        Assert.Equal(SaslStepKind.Success, step.Kind);
        Assert.Equal("alice@example.com", step.User);
    }

    [Fact]
    public async Task PlusWithChannelBindingDataMismatchFails()
    {
        // A man in the middle terminates TLS: the client sees another certificate than the server has.
        byte[] otherCertificate = SHA256.HashData("attacker certificate"u8);
        SaslStep step = await Client.RunAsync(Plus().Start(TlsWithBinding), "alice@example.com", TestUsers.AlicePassword,
            "p=tls-server-end-point,,", otherCertificate);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
        Assert.Contains("channel-binding", step.Reason);
    }

    [Fact]
    public async Task PlusWithATypeTheConnectionLacksFails()
    {
        SaslStep step = await Plus().Start(TlsWithBinding).StepAsync(B("p=tls-unique,,n=alice@example.com,r=abc"), default);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
    }

    [Theory]
    [InlineData("n,,")]
    [InlineData("y,,")]
    public async Task PlusWithoutChannelBindingFails(string gs2Header)
    {
        SaslStep step = await Plus().Start(TlsWithBinding).StepAsync(B(gs2Header + "n=alice@example.com,r=abc"), default);
        Assert.Equal(SaslStepKind.Failure, step.Kind);
    }

    [Fact]
    public async Task ExchangeIsBounded()
    {
        ISaslExchange exchange = Plain().Start(NoTls);
        Assert.Equal(SaslStepKind.Challenge, (await exchange.StepAsync(null, default)).Kind);
        Assert.Equal(SaslStepKind.Challenge, (await exchange.StepAsync(null, default)).Kind);
        Assert.Equal(SaslStepKind.Challenge, (await exchange.StepAsync(null, default)).Kind);
        Assert.Equal(SaslStepKind.Failure, (await exchange.StepAsync(null, default)).Kind);
        Assert.Equal(SaslStepKind.Failure, (await exchange.StepAsync(B("n,,n=alice@example.com,r=abc"), default)).Kind);
    }

    private static ScramSha256Mechanism Plain() => new(TestUsers.Store(), channelBinding: false, Secret);

    private static ScramSha256Mechanism Plus() => new(TestUsers.Store(), channelBinding: true, Secret);

    /// <summary>The client side of RFC 5802 §3, enough to drive the server.</summary>
    private static class Client
    {
        public static async Task<SaslStep> RunAsync(ISaslExchange exchange, string user, string password, string gs2Header,
            byte[]? channelBinding = null)
        {
            string bare = "n=" + user.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal)
                + ",r=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
            SaslStep first = await exchange.StepAsync(B(gs2Header + bare), default);
            if (first.Kind != SaslStepKind.Challenge) return first;
            string serverFirst = S(first.Data);
            Dictionary<char, string> attrs = serverFirst.Split(',').ToDictionary(a => a[0], a => a[2..]);
            byte[] salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Convert.FromBase64String(attrs['s']),
                int.Parse(attrs['i'], System.Globalization.CultureInfo.InvariantCulture), HashAlgorithmName.SHA256, 32);
            byte[] clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
            byte[] storedKey = SHA256.HashData(clientKey);
            string withoutProof = "c=" + Convert.ToBase64String([.. B(gs2Header), .. channelBinding ?? []]) + ",r=" + attrs['r'];
            byte[] authMessage = B(bare + "," + serverFirst + "," + withoutProof);
            byte[] signature = HMACSHA256.HashData(storedKey, authMessage);
            byte[] proof = clientKey.Zip(signature, (a, b) => (byte)(a ^ b)).ToArray();
            SaslStep final = await exchange.StepAsync(B(withoutProof + ",p=" + Convert.ToBase64String(proof)), default);
            if (final.Kind == SaslStepKind.Success)
            {
                byte[] serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
                Assert.Equal("v=" + Convert.ToBase64String(HMACSHA256.HashData(serverKey, authMessage)), S(final.Data));
            }
            return final;
        }
    }
}
