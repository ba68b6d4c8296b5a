using Postbote.IntegrationTests.Infrastructure;

namespace Postbote.IntegrationTests;

/// <summary>The <c>[queue]</c> table of docs/configuration.md: right values are taken, a wrong value stops the command
/// with one line that names the setting and the reason (exit 2).</summary>
public sealed class QueueSettingTests : IDisposable
{
    private readonly PostboteCli cli = new();

    public void Dispose() => cli.Dispose();

    private string Config(string queue) => cli.ConfigWithTable("queue", queue);

    [Fact]
    public async Task EverySettingIsTaken()
    {
        var r = await cli.RunAsync("queue", "list", "--config", Config("""
            retry_interval = 60
            max_retry_interval = 7200
            max_lifetime = 86400
            delay_warning_time = 0
            destination_concurrency = 5
            destination_rate_limit = 30
            destination_recipient_limit = 10
            connection_reuse_count_limit = 20
            """));
        Assert.True(r.ExitCode == 0, r.Output);
        Assert.Equal("queue is empty\n", r.StandardOutput);
        Assert.DoesNotContain("queue.", r.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("retry_interval = 0", "queue.retry_interval must be more than 0 seconds")]
    [InlineData("max_retry_interval = -5", "queue.max_retry_interval must be a non-negative number of seconds")]
    [InlineData("retry_interval = 600\nmax_retry_interval = 300", "queue.max_retry_interval (300 s) must not be shorter than queue.retry_interval (600 s)")]
    [InlineData("max_retry_interval = 200", "queue.max_retry_interval (200 s) must not be shorter than queue.retry_interval (300 s)")]
    [InlineData("max_lifetime = 0", "queue.max_lifetime must be more than 0 seconds")]
    [InlineData("max_lifetime = \"5d\"", "queue.max_lifetime must be a non-negative number of seconds")]
    [InlineData("delay_warning_time = -1", "queue.delay_warning_time must be a non-negative number of seconds")]
    [InlineData("destination_concurrency = 0", "queue.destination_concurrency must be between 1 and 10000")]
    [InlineData("destination_concurrency = 2.5", "queue.destination_concurrency must be an integer")]
    [InlineData("destination_rate_limit = -1", "queue.destination_rate_limit must be between 0 and 1000000")]
    [InlineData("destination_recipient_limit = 0", "queue.destination_recipient_limit must be between 1 and 100000")]
    [InlineData("connection_reuse_count_limit = 0", "queue.connection_reuse_count_limit must be between 1 and 1000000")]
    [InlineData("max_retries = 3", "unknown setting 'queue.max_retries' (see docs/configuration.md)")]
    public async Task WrongValueIsOneLineNamingTheSetting(string queue, string message)
    {
        string path = Config(queue);
        var r = await cli.RunAsync("serve", "--config", path);
        Assert.False(r.TimedOut, r.Output);
        Assert.True(r.ExitCode == 2, r.Output);
        Assert.Equal($"postbote: {path}: {message}\n", r.StandardError);
    }
}
