using Postbote.Security.Users;

namespace Postbote.Tests.Security;

public sealed class PasswordHasherTests
{
    [Fact]
    public void HashIsPhcArgon2idWithOwaspParameters()
    {
        string phc = PasswordHasher.Hash("secret");
        Assert.StartsWith("$argon2id$v=19$m=19456,t=2,p=1$", phc);
        string[] parts = phc.Split('$');
        Assert.Equal(6, parts.Length);
        Assert.DoesNotContain('=', parts[4] + parts[5]); // PHC base64 has no padding
        Assert.NotEqual(phc, PasswordHasher.Hash("secret")); // fresh salt
    }

    [Fact]
    public void VerifyAcceptsTheRightPasswordAndRejectsOthers()
    {
        string phc = TestUsers.Alice.PasswordHash;
        Assert.True(PasswordHasher.Verify(phc, TestUsers.AlicePassword));
        Assert.False(PasswordHasher.Verify(phc, TestUsers.AlicePassword + " "));
        Assert.False(PasswordHasher.Verify(phc, "Correct horse battery staple"));
        Assert.False(PasswordHasher.Verify(phc, ""));
        Assert.False(PasswordHasher.Verify(PasswordHasher.DummyHash, TestUsers.AlicePassword));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plaintext")]
    [InlineData("$argon2i$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$argon2id$v=16$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$argon2id$v=19$m=99999999,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$argon2id$v=19$m=19456,t=2,p=1$!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void MalformedHashesNeverVerify(string phc)
    {
        Assert.False(PasswordHasher.IsWellFormed(phc));
        Assert.False(PasswordHasher.Verify(phc, "secret"));
    }

    [Fact]
    public void PasswordsWithControlCharactersAreRefused()
    {
        Assert.Throws<ArgumentException>(() => PasswordHasher.Hash("bad\u0007password"));
        Assert.Throws<ArgumentException>(() => PasswordHasher.Hash(""));
        Assert.Throws<ArgumentException>(() => PasswordHasher.DeriveScram("bad\npassword", 4096));
    }

    [Fact]
    public void ScramIterationsBelow4096AreRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PasswordHasher.DeriveScram("pencil", 4095));

    [Fact]
    public void DeriveScramKeepsTheSaltAndIterations()
    {
        ScramCredentials c = PasswordHasher.DeriveScram("pencil", PasswordHasher.ScramIterations);
        Assert.Equal(10000, c.Iterations);
        Assert.Equal(16, c.Salt.Length);
        Assert.Equal(32, c.StoredKey.Length);
        Assert.Equal(32, c.ServerKey.Length);
    }
}
