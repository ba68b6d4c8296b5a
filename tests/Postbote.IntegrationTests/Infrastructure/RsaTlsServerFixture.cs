namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// A server with MX, submission and submissions listeners and an RSA certificate for mx.test issued by a test CA (the
/// ECDHE-RSA cipher suites, which old senders and testssl.sh try, need an RSA certificate), on the default cipher suites.
/// </summary>
public class RsaTlsServerFixture : CaTlsServerFixture
{
    /// <inheritdoc/>
    protected override bool RsaCertificate => true;
}
