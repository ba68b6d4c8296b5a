namespace Postbote.Net;

/// <summary>One protocol session (SMTP today, POP3 tomorrow) over one <see cref="Connection"/>.</summary>
public interface IProtocolSession
{
    /// <summary>Serves the connection until the protocol ends it, the client leaves, a deadline passes or the server
    /// stops. The listener disposes the connection afterwards.</summary>
    /// <param name="shutdown">Signals that the server is stopping; the session drains and closes.</param>
    /// <returns>A task that completes when the session is over.</returns>
    /// <exception cref="IOException">The connection failed; the listener logs it at debug level.</exception>
    Task RunAsync(CancellationToken shutdown);
}
