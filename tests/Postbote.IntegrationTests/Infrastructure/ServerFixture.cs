namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>A server shared by the tests of one class, started before the first and killed after the last.</summary>
public class ServerFixture : IAsyncLifetime
{
    private PostboteServer? server;

    /// <summary>The running server.</summary>
    public PostboteServer Server => server ?? throw new InvalidOperationException("the fixture did not start");

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        server = await PostboteServer.StartNewAsync(CreateOptions(), GetType().Name.Replace("Fixture", string.Empty, StringComparison.Ordinal));
    }

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>The configuration for this fixture's server; the shared-cases set-up unless overridden.</summary>
    protected virtual ServerOptions CreateOptions() => new();
}
