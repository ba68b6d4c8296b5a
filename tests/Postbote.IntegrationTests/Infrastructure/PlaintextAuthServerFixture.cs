namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// The server of <see cref="TlsAuthServerFixture"/> set up as an admin debugging a loopback-only installation would run
/// it: <c>[smtp] plaintext_auth = true</c> and <c>[log] level = "trace"</c> (the SMTP transcript in the log).
/// </summary>
public sealed class PlaintextAuthServerFixture : TlsAuthServerFixture
{
    /// <inheritdoc/>
    protected override ServerOptions CreateOptions()
    {
        var options = base.CreateOptions();
        options.PlaintextAuth = true;
        options.LogLevel = "trace";
        return options;
    }
}
