using System.Net;

namespace Postbote.Net;

/// <summary>What a <see cref="ConnectionListener{TEndPoint}"/> asks of the protocol it serves: a session for each
/// accepted connection, and the octets to send to a connection refused for a limit.</summary>
/// <typeparam name="TEndPoint">The protocol's description of a listener.</typeparam>
public interface IProtocolSessionFactory<in TEndPoint> where TEndPoint : IListenerEndPoint
{
    /// <summary>Creates the session for a connection within the limits.</summary>
    /// <param name="connection">The accepted connection, not yet read from or written to.</param>
    /// <param name="listener">The listener that accepted it.</param>
    /// <returns>The session; the listener runs it.</returns>
    IProtocolSession Create(Connection connection, TEndPoint listener);

    /// <summary>The octets a connection refused for <paramref name="refusal"/> gets before it is closed.</summary>
    /// <param name="listener">The listener that accepted it.</param>
    /// <param name="refusal">The limit it exceeded.</param>
    /// <param name="client">The client's address (IPv4-mapped addresses as IPv4).</param>
    /// <returns>The reply, or empty to close without one (e.g. on an implicit-TLS port, where clear text is garbage).</returns>
    ReadOnlyMemory<byte> Refusal(TEndPoint listener, ConnectionRefusal refusal, IPAddress client);
}
