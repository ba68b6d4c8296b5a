using System.Net;

namespace Postbote.Net;

/// <summary>What a <see cref="ConnectionListener{TEndPoint}"/> needs to know of a protocol's listener: where it listens.
/// The protocol's own listener description (for SMTP, <c>ListenerOptions</c>) implements it and is handed back to the
/// protocol with each connection.</summary>
public interface IListenerEndPoint
{
    /// <summary>The address and port to bind; port 0 takes a free port.</summary>
    IPEndPoint EndPoint { get; }
}
