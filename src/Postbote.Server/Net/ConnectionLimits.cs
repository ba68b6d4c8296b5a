namespace Postbote.Net;

/// <summary>The limits a <see cref="ConnectionListener{TEndPoint}"/> and its <see cref="Connection"/>s enforce, taken
/// from the protocol's own limits object (for SMTP, <c>SmtpServerLimits</c>), which documents and validates them.</summary>
/// <param name="MaxConnections">Open connections in all, before the descriptor limit lowers it (count).</param>
/// <param name="MaxConnectionsPerIp">Open connections from one client address (count).</param>
/// <param name="IdleTimeout">How long a connection may send nothing; also caps the TLS handshake at 60 seconds.</param>
/// <param name="CommandLineTimeout">How long one line may take from its first octet to its line end.</param>
public sealed record ConnectionLimits(int MaxConnections, int MaxConnectionsPerIp, TimeSpan IdleTimeout, TimeSpan CommandLineTimeout);
