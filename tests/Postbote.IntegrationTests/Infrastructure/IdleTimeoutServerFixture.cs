namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>A server with idle_timeout = 2 s.</summary>
public sealed class IdleTimeoutServerFixture : ServerFixture
{
    /// <inheritdoc/>
    protected override ServerOptions CreateOptions() => new() { IdleTimeoutSeconds = 2 };
}
