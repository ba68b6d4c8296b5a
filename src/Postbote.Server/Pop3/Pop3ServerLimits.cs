namespace Postbote.Pop3;

/// <summary>
/// Every limit and timeout of the POP3 server, each with its unit and where its default comes from. Validated by
/// <see cref="Validate"/> when the server is made.
/// </summary>
public sealed class Pop3ServerLimits
{
    /// <summary>The shortest idle timeout RFC 1939 allows: 10 minutes (RFC 1939 §3: "an inactivity autologout timer MUST
    /// be of at least 10 minutes' duration").</summary>
    public static readonly TimeSpan MinimumIdleTimeout = TimeSpan.FromMinutes(10);

    /// <summary>How long the server waits for a command before it ends the session without the UPDATE state. Defaults to
    /// <see cref="MinimumIdleTimeout"/>, 10 minutes; the configuration refuses less (shorter values exist for tests).</summary>
    public TimeSpan IdleTimeout { get; set; } = MinimumIdleTimeout;

    /// <summary>Longest time one command line (or SASL response line) may take from its first octet to its CRLF.
    /// Defaults to 60 seconds (<c>[limits] command_line_timeout</c>).</summary>
    public TimeSpan CommandLineTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Most simultaneous POP3 connections in all; more get <c>-ERR [SYS/TEMP]</c>. Defaults to 10,000
    /// (<c>[limits] max_connections</c>, counted apart from SMTP's).</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Most simultaneous POP3 connections from one client address. Defaults to 100
    /// (<c>[limits] max_connections_per_ip</c>).</summary>
    public int MaxConnectionsPerIp { get; set; } = 100;

    /// <summary>Error replies caused by the client after which the session is closed. Defaults to 20
    /// (<c>[limits] max_errors</c>).</summary>
    public int MaxErrors { get; set; } = 20;

    /// <summary>How long a stopping server lets a session finish the retrieval it is sending. Defaults to 30 seconds
    /// (<c>[limits] shutdown_timeout</c>).</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Checks that every limit is in range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range (the message names it).</exception>
    public void Validate()
    {
        if (IdleTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(IdleTimeout), IdleTimeout, "pop3.idle_timeout must be positive");
        if (CommandLineTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(CommandLineTimeout), CommandLineTimeout, "command_line_timeout must be positive");
        if (MaxConnections < 1) throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "max_connections must be at least 1");
        if (MaxConnectionsPerIp < 1) throw new ArgumentOutOfRangeException(nameof(MaxConnectionsPerIp), MaxConnectionsPerIp, "max_connections_per_ip must be at least 1");
        if (MaxErrors < 1) throw new ArgumentOutOfRangeException(nameof(MaxErrors), MaxErrors, "max_errors must be at least 1");
        if (ShutdownTimeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ShutdownTimeout), ShutdownTimeout, "shutdown_timeout must not be negative");
    }
}
