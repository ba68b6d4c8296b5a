using System.Net.Sockets;

namespace Postbote.Smtp;

/// <summary>
/// A listener's endpoint could not be bound (address in use, no permission for the port, no such local address). Thrown by
/// <see cref="SmtpServer.StartAsync"/> after every endpoint bound before it was closed again.
/// </summary>
public sealed class ListenerBindException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="listener">The listener whose endpoint failed.</param>
    /// <param name="error">The socket error.</param>
    public ListenerBindException(ListenerOptions listener, SocketException error)
        : base($"{FormatEndPoint(listener)}: {error?.Message}", error)
    {
        ArgumentNullException.ThrowIfNull(listener);
        ArgumentNullException.ThrowIfNull(error);
        Listener = listener;
        SocketError = error.SocketErrorCode;
    }

    /// <summary>The listener that could not be bound.</summary>
    public ListenerOptions Listener { get; }

    /// <summary>The reason, as the socket layer reports it (e.g. <see cref="SocketError.AddressAlreadyInUse"/>).</summary>
    public SocketError SocketError { get; }

    private static string FormatEndPoint(ListenerOptions? listener) => listener?.EndPoint.ToString() ?? "(no endpoint)";
}
