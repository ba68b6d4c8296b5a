using Postbote.Core;

namespace Postbote.Delivery.Smtp;

/// <summary>
/// Tells a remote server's request to slow down from other temporary failures: <c>421</c> (RFC 5321 §4.2.3: "Service
/// not available, closing transmission channel", what a server over its connection limit answers) and a <c>4.7.x</c>
/// reply (RFC 3463 §3.8, security or policy status) whose text speaks of too many connections or messages, a rate limit
/// or rate of mail, a throttle, an unexpected volume or a busy server (e.g. <c>451 4.7.0 rate limited, try again later</c>). Such a reply lowers the
/// destination's concurrency and spaces its next attempts (the scheduler's destination feedback) instead of only
/// deferring the recipients.
/// </summary>
public static class ThrottleReply
{
    // "rate" alone would also match "separate" or "generate"; the rates servers speak of come with these words.
    private static readonly string[] Words =
        ["too many", "rate limit", "ratelimit", "rate-limit", "rate of", "throttl", "busy", "slow down", "try again later", "connection limit", "volume"];

    /// <summary>Whether <paramref name="reply"/> asks the client to slow down.</summary>
    /// <param name="reply">A reply of the remote server, or one the client made of it.</param>
    /// <returns><c>true</c> for 421, and for a 4xx with a 4.7.x status whose text names too many connections, a rate
    /// limit, throttling or a busy server.</returns>
    public static bool IsThrottling(SmtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (reply.Code == SmtpReplyCode.ServiceNotAvailable) return true;
        if (!reply.IsTransientFailure || reply.Status is not { Class: 4, Subject: 7 }) return false;
        foreach (string line in reply.Lines)
        {
            foreach (string word in Words)
            {
                if (line.Contains(word, StringComparison.OrdinalIgnoreCase)) return true;
            }
        }
        return false;
    }
}
