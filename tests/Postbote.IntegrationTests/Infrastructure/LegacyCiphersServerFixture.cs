namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// The server of <see cref="RsaTlsServerFixture"/> with <c>[tls] legacy_ciphers_on_mx = true</c>: its MX listener also
/// accepts the TLS 1.2 CBC and RSA key-exchange suites; its submission listeners still take AEAD suites only.
/// </summary>
public sealed class LegacyCiphersServerFixture : RsaTlsServerFixture
{
    /// <inheritdoc/>
    protected override ServerOptions CreateOptions()
    {
        var options = base.CreateOptions();
        options.TlsLegacyCiphersOnMx = true;
        return options;
    }
}
