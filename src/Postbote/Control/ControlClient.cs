using System.Net.Sockets;
using System.Text;

namespace Postbote.Host.Control;

/// <summary>The client side of the control socket, for <c>postbote queue …</c>: sends one request and reads the reply
/// (<see cref="ControlProtocol"/>).</summary>
public static class ControlClient
{
    /// <summary>How long the client waits for the connection and then for each reply line: 30 seconds.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Sends a request to the server listening on <paramref name="socketPath"/>.</summary>
    /// <param name="socketPath">The socket file, <c>{data_dir}/control.sock</c>.</param>
    /// <param name="request">The request.</param>
    /// <param name="onDataLine">Called with each data line's text (without <c>* </c>), in order.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <returns>The status line (<c>ok …</c>, <c>no …</c> or <c>bad …</c>); <c>null</c> when no server listens (no
    /// socket file, or one that refuses connections: left by a server that stopped).</returns>
    /// <exception cref="IOException">The server could not be asked: permission denied, no reply within
    /// <see cref="Timeout"/>, or the connection ended before the status line.</exception>
    public static async Task<string?> SendAsync(string socketPath, ControlRequest request, Action<string> onDataLine,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socketPath);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(onDataLine);
        if (!File.Exists(socketPath)) return null;
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable
            || e.SocketErrorCode == SocketError.SocketError && !File.Exists(socketPath))
        {
            return null;
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"no connection within {Timeout.TotalSeconds} s", e);
        }
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(request + "\n"), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            using var reader = new StreamReader(new NetworkStream(socket, ownsSocket: false), new UTF8Encoding(false));
            while (true)
            {
                timeout.CancelAfter(Timeout);
                string? line = await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false);
                if (line is null) throw new IOException("the server closed the connection without a status line");
                if (line.StartsWith(ControlProtocol.DataPrefix, StringComparison.Ordinal)) onDataLine(line[ControlProtocol.DataPrefix.Length..]);
                else return line;
            }
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"no reply within {Timeout.TotalSeconds} s", e);
        }
    }
}
