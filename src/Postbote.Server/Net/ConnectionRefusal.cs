namespace Postbote.Net;

/// <summary>Which connection limit a new connection exceeded; the protocol chooses the reply it gets.</summary>
public enum ConnectionRefusal
{
    /// <summary>More open connections than <see cref="ConnectionListener{TEndPoint}.MaxConnections"/> in all.</summary>
    TooManyConnections,

    /// <summary>More open connections from the client's address than <see cref="ConnectionLimits.MaxConnectionsPerIp"/>.</summary>
    TooManyFromAddress,
}
