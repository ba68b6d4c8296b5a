namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>A server with a small message size limit (100,000 bytes) and max_errors = 5.</summary>
public sealed class BadInputServerFixture : ServerFixture
{
    /// <inheritdoc/>
    protected override ServerOptions CreateOptions() => new() { MessageSize = 100000, MaxErrors = 5 };
}
