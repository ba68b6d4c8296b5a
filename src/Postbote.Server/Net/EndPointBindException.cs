using System.Net;
using System.Net.Sockets;

namespace Postbote.Net;

/// <summary>
/// An endpoint could not be bound (address in use, no permission for the port, no such local address). Thrown by
/// <see cref="ConnectionListener{TEndPoint}.Start"/> after every endpoint bound before it was closed again.
/// </summary>
public sealed class EndPointBindException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="index">The endpoint's position in the listener's list (0-based).</param>
    /// <param name="endPoint">The endpoint that failed.</param>
    /// <param name="error">The socket error.</param>
    /// <exception cref="ArgumentNullException"><paramref name="endPoint"/> or <paramref name="error"/> is null.</exception>
    public EndPointBindException(int index, IPEndPoint endPoint, SocketException error)
        : base($"{endPoint}: {error?.Message}", error)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(error);
        Index = index;
        EndPoint = endPoint;
        Error = error;
    }

    /// <summary>The endpoint's position in the listener's list (0-based).</summary>
    public int Index { get; }

    /// <summary>The endpoint that could not be bound.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The socket layer's error (e.g. <see cref="SocketError.AddressAlreadyInUse"/>).</summary>
    public SocketException Error { get; }
}
