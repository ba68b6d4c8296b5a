namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// A server with all three kinds of listener (MX, submission, submissions) and a certificate for mx.test issued by a
/// test CA whose PEM is at <see cref="CaFile"/>. Subclasses choose the options, the key type, and what to do before the
/// start (users to add).
/// </summary>
public abstract class CaTlsServerFixture : IAsyncLifetime
{
    private PostboteServer? server;

    /// <summary>The running server.</summary>
    public PostboteServer Server => server ?? throw new InvalidOperationException("the fixture did not start");

    /// <summary>The CA that issued the server's certificate.</summary>
    public TestCertificateAuthority Authority { get; } = TestCertificateAuthority.Create();

    /// <summary>The CA certificate as a PEM file, for openssl and Python.</summary>
    public string CaFile => Path.Combine(Server.TempDir, "test-ca.pem");

    /// <summary>Whether the server's certificate has an RSA key (else the CA's default).</summary>
    protected virtual bool RsaCertificate => false;

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
        using (var issued = Authority.Issue(SmtpConnection.ServerName, rsa: RsaCertificate))
        {
            TestCertificateAuthority.WritePem(issued, certificate, key);
        }

        Authority.WriteCaPem(Path.Combine(created.TempDir, "test-ca.pem"));
        options.TlsCertificate = certificate;
        options.TlsKey = key;
        created.WriteConfiguration();
        await BeforeStartAsync(created);
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

    /// <summary>The configuration; the defaults of <see cref="ServerOptions"/> unless a subclass says otherwise.</summary>
    protected virtual ServerOptions CreateOptions() => new();

    /// <summary>Runs after the configuration is written and before the server starts.</summary>
    protected virtual Task BeforeStartAsync(PostboteServer created) => Task.CompletedTask;
}
