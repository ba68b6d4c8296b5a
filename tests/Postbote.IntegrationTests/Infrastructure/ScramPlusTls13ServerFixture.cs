namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// The server of <see cref="TlsAuthServerFixture"/> with <c>[auth] scram_plus_tls13 = true</c>: SCRAM-SHA-256-PLUS is
/// offered on TLS 1.3 too, with tls-server-end-point as its only binding there.
/// </summary>
public sealed class ScramPlusTls13ServerFixture : TlsAuthServerFixture
{
    /// <inheritdoc/>
    protected override ServerOptions CreateOptions()
    {
        var options = base.CreateOptions();
        options.AuthScramPlusTls13 = true;
        return options;
    }
}
