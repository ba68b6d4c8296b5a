namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// A server with all three kinds of listener (MX, submission, submissions), a certificate for mx.test issued by a test
/// CA, no trusted networks, the alias info@example.com → alice@example.com, and three users added with
/// <c>postbote user add</c> before the start: alice@example.com, user2@example.com (who also owns team@example.org) and
/// relay@example.com (--any-sender).
/// </summary>
public class TlsAuthServerFixture : CaTlsServerFixture
{
    /// <summary>The user of the shared cases.</summary>
    public const string Alice = "alice@example.com";

    /// <summary>Alice's password.</summary>
    public const string AlicePassword = "s3cret";

    /// <summary>A user with one more address, <see cref="User2Address"/>.</summary>
    public const string User2 = "user2@example.com";

    /// <summary>User2's password.</summary>
    public const string User2Password = "Tr0ub4dor&3";

    /// <summary>The address user2 owns besides their name.</summary>
    public const string User2Address = "team@example.org";

    /// <summary>A user who may send as anyone.</summary>
    public const string AnySender = "relay@example.com";

    /// <summary>The any-sender user's password.</summary>
    public const string AnySenderPassword = "correct horse battery staple";

    /// <summary>A local alias that delivers to alice.</summary>
    public const string AliceAlias = "info@example.com";

    /// <inheritdoc/>
    protected override async Task BeforeStartAsync(PostboteServer created)
    {
        await created.AddUserAsync(Alice, AlicePassword);
        await created.AddUserAsync(User2, User2Password, [User2Address]);
        await created.AddUserAsync(AnySender, AnySenderPassword, anySender: true);
    }

    /// <summary>
    /// The configuration; the defaults of <see cref="ServerOptions"/> plus the alias, and a failure limit high enough
    /// that the wrong passwords of one test class never block 127.0.0.1.
    /// </summary>
    protected override ServerOptions CreateOptions() => new()
    {
        Aliases = new Dictionary<string, string[]> { [AliceAlias] = [Alice] },
        AuthMaxFailures = 1000,
    };
}
