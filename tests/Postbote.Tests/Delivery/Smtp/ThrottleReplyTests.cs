using Postbote.Core;
using Postbote.Delivery.Smtp;

namespace Postbote.Tests.Delivery.Smtp;

/// <summary>Which replies ask the client to slow down: 421, and 4.7.x replies about connections, rates and load.</summary>
public sealed class ThrottleReplyTests
{
    [Theory]
    [InlineData(421, null, "mx.example closing connection", true)]
    [InlineData(421, "4.7.0", "too many connections", true)]
    [InlineData(451, "4.7.0", "Rate limited, try again later", true)]
    [InlineData(450, "4.7.28", "unusual rate of unsolicited mail", true)]
    [InlineData(451, "4.7.500", "Server busy. Please try again later", true)]
    [InlineData(421, "4.7.0", "[TSS04] Messages temporarily deferred due to unexpected volume", true)]
    [InlineData(451, "4.7.1", "Greylisted, see https://example.org", false)]
    [InlineData(451, "4.7.1", "Please generate a separate request", false)]
    [InlineData(454, "4.7.0", "TLS not available due to local problem", false)]
    [InlineData(451, "4.3.0", "too many connections", false)]
    [InlineData(550, "5.7.1", "too many connections", false)]
    [InlineData(250, "2.0.0", "ok", false)]
    public void TellsThrottlingFromOtherReplies(int code, string? status, string text, bool throttling)
    {
        EnhancedStatusCode? enhanced = status is null ? null : ParseStatus(status);
        Assert.Equal(throttling, ThrottleReply.IsThrottling(new SmtpReply((SmtpReplyCode)code, enhanced, text)));
    }

    private static EnhancedStatusCode ParseStatus(string s)
    {
        int[] p = s.Split('.').Select(int.Parse).ToArray();
        return new EnhancedStatusCode(p[0], p[1], p[2]);
    }
}
