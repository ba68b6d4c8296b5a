using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postbote.LoadClient;

/// <summary>One client connection: writes whole buffers, reads replies (RFC 5321 §4.2: the last line of a reply has a
/// space after the code).</summary>
internal sealed class SmtpConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _in = new byte[16 * 1024];
    private int _start, _end;

    private SmtpConnection(Socket socket) => _socket = socket;

    public static async Task<SmtpConnection> OpenAsync(IPEndPoint ep, CancellationToken ct)
    {
        var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await s.ConnectAsync(ep, ct).ConfigureAwait(false);
        }
        catch
        {
            s.Dispose();
            throw;
        }
        return new SmtpConnection(s);
    }

    public async Task SendAsync(byte[] data, CancellationToken ct) =>
        await SendAllAsync(data, ct).ConfigureAwait(false);

    /// <summary>Sends <paramref name="first"/> and <paramref name="second"/> as one write when the second is short.</summary>
    public async Task SendAsync(byte[] first, byte[]? second, CancellationToken ct)
    {
        if (second is null) { await SendAllAsync(first, ct).ConfigureAwait(false); return; }
        if (first.Length <= 256 * 1024)
        {
            byte[] both = new byte[first.Length + second.Length];
            first.CopyTo(both, 0);
            second.CopyTo(both, first.Length);
            await SendAllAsync(both, ct).ConfigureAwait(false);
            return;
        }
        await SendAllAsync(first, ct).ConfigureAwait(false);
        await SendAllAsync(second, ct).ConfigureAwait(false);
    }

    private async Task SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            int n = await _socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
            data = data[n..];
        }
    }

    public async Task ExpectAsync(int code, CancellationToken ct)
    {
        int got = await ReadReplyAsync(ct).ConfigureAwait(false);
        if (got != code) throw new ProtocolException($"expected {code}, got {got}");
    }

    /// <summary>Reads one whole reply and returns its code.</summary>
    public async Task<int> ReadReplyAsync(CancellationToken ct)
    {
        while (true)
        {
            int nl = Array.IndexOf(_in, (byte)'\n', _start, _end - _start);
            if (nl < 0)
            {
                if (_start > 0)
                {
                    Buffer.BlockCopy(_in, _start, _in, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                if (_end == _in.Length) throw new ProtocolException("reply line too long");
                int n = await _socket.ReceiveAsync(_in.AsMemory(_end), SocketFlags.None, ct).ConfigureAwait(false);
                if (n == 0) throw new IOException("connection closed by the server");
                _end += n;
                continue;
            }
            int len = nl - _start + 1;
            if (len < 5) throw new ProtocolException("short reply line");
            int code = (_in[_start] - '0') * 100 + (_in[_start + 1] - '0') * 10 + (_in[_start + 2] - '0');
            bool last = _in[_start + 3] == (byte)' ' || _in[_start + 3] == (byte)'\r';
            string text = last && code >= 400 ? Encoding.ASCII.GetString(_in, _start, len).TrimEnd() : "";
            _start = nl + 1;
            if (last)
            {
                if (code >= 400) Console.Error.WriteLine("pb-loadclient: server replied " + text);
                return code;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return default;
    }
}
