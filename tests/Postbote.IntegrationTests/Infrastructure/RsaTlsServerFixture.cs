namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// A server with MX, submission and submissions listeners and an RSA certificate for mx.test issued by a test CA (the
/// ECDHE-RSA cipher suites, which old senders and testssl.sh try, need an RSA certificate), on the default cipher suites.
/// </summary>
public class RsaTlsServerFixture : IAsyncLifetime
{
    private PostboteServer? server;

    /// <summary>The running server.</summary>
    public PostboteServer Server => server ?? throw new InvalidOperationException("the fixture did not start");

    /// <summary>The CA that issued the server's certificate.</summary>
    public TestCertificateAuthority Authority { get; } = TestCertificateAuthority.Create();

    /// <summary>The CA certificate as a PEM file, for openssl.</summary>
    public string CaFile => Path.Combine(Server.TempDir, "test-ca.pem");

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        var options = CreateOptions();
        options.Submission = true;
        options.Submissions = true;
        var created = new PostboteServer(options, GetType().Name.Replace("Fixture", string.Empty, StringComparison.Ordinal));
        server = created;
        var certificate = Path.Combine(created.TempDir, "tls-test", "cert.pem");
        var key = Path.Combine(created.TempDir, "tls-test", "key.pem");
        using (var issued = Authority.Issue(SmtpConnection.ServerName, rsa: true))
        {
            TestCertificateAuthority.WritePem(issued, certificate, key);
        }

        Authority.WriteCaPem(CaFile);
        options.TlsCertificate = certificate;
        options.TlsKey = key;
        created.WriteConfiguration();
        await created.StartAsync();
    }

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        Authority.Dispose();
    }

    /// <summary>The configuration; the defaults of <see cref="ServerOptions"/>.</summary>
    protected virtual ServerOptions CreateOptions() => new();
}
