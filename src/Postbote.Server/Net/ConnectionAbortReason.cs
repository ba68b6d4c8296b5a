namespace Postbote.Net;

/// <summary>Why a <see cref="Connection"/> was aborted by the server: the first reason given wins. The protocol session
/// turns it into its closing reply (for SMTP the <c>421</c> of RFC 5321 §3.8) and its log line.</summary>
public enum ConnectionAbortReason
{
    /// <summary>Not aborted (a read that was cancelled without a reason).</summary>
    None,

    /// <summary>Nothing arrived for the idle timeout (<see cref="ConnectionLimits.IdleTimeout"/>).</summary>
    IdleTimeout,

    /// <summary>A line was still incomplete after <see cref="ConnectionLimits.CommandLineTimeout"/>, counted from its first
    /// octet.</summary>
    CommandLineTimeout,

    /// <summary>The client sent message data more slowly than the protocol's minimum data rate.</summary>
    DataRateTooLow,

    /// <summary>The server is stopping: at once for an idle session, after the drain time for one in the middle of a
    /// transfer.</summary>
    Shutdown,
}
