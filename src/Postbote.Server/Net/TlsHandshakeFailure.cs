using System.Globalization;

namespace Postbote.Net;

/// <summary>
/// What to log when a TLS handshake fails. .NET wraps the TLS library's reason in an
/// <see cref="System.Security.Authentication.AuthenticationException"/> whose own text is only "Authentication failed,
/// see inner exception"; the reason an admin can act on ("no shared cipher", "unsupported protocol", the client closed
/// the connection) is the innermost exception's message.
/// </summary>
public static class TlsHandshakeFailure
{
    /// <summary>How many inner exceptions are followed at most (the chains .NET builds are two or three deep).</summary>
    private const int MaxDepth = 16;

    /// <summary>The reason a handshake failed, in one line.</summary>
    /// <param name="error">The exception the handshake ended with.</param>
    /// <param name="timedOut">Whether the handshake was cancelled because its time ran out.</param>
    /// <param name="timeLimit">The handshake's time limit, named when <paramref name="timedOut"/>.</param>
    /// <returns>The innermost exception's message with line breaks folded into spaces, or "no handshake within N
    /// seconds" for a timeout.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="error"/> is <c>null</c>.</exception>
    public static string Reason(Exception error, bool timedOut = false, TimeSpan timeLimit = default)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (timedOut) return string.Create(CultureInfo.InvariantCulture, $"no handshake within {timeLimit.TotalSeconds:0.###} seconds");
        Exception innermost = error;
        for (int depth = 0; depth < MaxDepth && innermost.InnerException is { } inner; depth++) innermost = inner;
        string message = innermost.Message.ReplaceLineEndings(" ").Trim();
        return message.Length > 0 ? message : innermost.GetType().Name;
    }
}
