using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Postbote.Core;
using Postbote.Protocol.Smtp.Client;

namespace Postbote.Tests.Protocol.Client;

/// <summary>A plain TCP connection to a loopback server, driven with the client-side protocol layer: commands from
/// <see cref="SmtpCommandWriter"/>, replies through <see cref="SmtpReplyParser"/>. Test code only.</summary>
internal sealed class PeerConnection : IAsyncDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(15);
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private byte[] _buffer = new byte[4096];
    private int _start;
    private int _end;

    public static async Task<PeerConnection> ConnectAsync(int port)
    {
        var c = new PeerConnection();
        using var cts = new CancellationTokenSource(ReplyTimeout);
        await c._socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        return c;
    }

    public async Task SendAsync(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        await SendAsync(output.WrittenMemory);
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var cts = new CancellationTokenSource(ReplyTimeout);
        while (!bytes.IsEmpty)
        {
            int n = await _socket.SendAsync(bytes, SocketFlags.None, cts.Token);
            bytes = bytes[n..];
        }
    }

    /// <summary>Reads one reply: parses what is buffered, receives more while the parser needs it (at most 15 s).</summary>
    public async Task<SmtpReply> ReadReplyAsync()
    {
        using var cts = new CancellationTokenSource(ReplyTimeout);
        for (int reads = 0; reads < 10_000; reads++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(_buffer, _start, _end - _start));
            var status = SmtpReplyParser.TryParse(ref reader, out var reply, out var fault);
            if (status == OperationStatus.Done)
            {
                _start += (int)reader.Consumed;
                return reply!;
            }
            if (status == OperationStatus.InvalidData) throw new InvalidDataException($"the peer sent no reply: {fault}");
            if (_end == _buffer.Length)
            {
                if (_start > 0) { Array.Copy(_buffer, _start, _buffer, 0, _end - _start); _end -= _start; _start = 0; }
                else Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            int n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cts.Token);
            if (n == 0) throw new EndOfStreamException("the peer closed the connection");
            _end += n;
        }
        throw new TimeoutException("no complete reply");
    }

    /// <summary>Sends a command and reads its reply.</summary>
    public async Task<SmtpReply> CommandAsync(Action<IBufferWriter<byte>> write)
    {
        await SendAsync(write);
        return await ReadReplyAsync();
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
