using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Host.Control;
using Postbote.Queue;
using Postbote.Tests.Queue;

namespace Postbote.Tests.Control;

/// <summary>
/// The control socket in process, over a real spool and a small <see cref="IQueueControl"/> of the test's own that
/// holds and releases in memory: the socket file's mode, a stale file, every reply octet for octet, requests split
/// across writes, the request timeout, an I/O error as a <c>no</c> line, and stop.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ControlServerTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private Spool _spool = null!;
    private TestQueueControl _queue = null!;
    private ControlServer _server = null!;
    private QueueId _id;

    public async Task InitializeAsync()
    {
        _spool = new Spool(new SpoolOptions { Directory = _dir.Combine("spool"), CorruptDirectory = _dir.Combine("corrupt") },
            NullLogger<Spool>.Instance);
        await _spool.RecoverAsync(CancellationToken.None);
        _id = await SpoolTests.CommitAsync(_spool, "Subject: steer me\r\nX-Test: 1\r\n\r\nbody\r\n"u8.ToArray(), 64, "alice@example.com");
        _queue = new TestQueueControl(_spool);
        _server = new ControlServer(_dir.Path, _queue, NullLogger<ControlServer>.Instance, TimeSpan.FromMilliseconds(300));
        await _server.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _spool.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void SocketFileHasMode0600()
    {
        Assert.Equal(_dir.Combine("control.sock"), _server.SocketPath);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_server.SocketPath));
    }

    [Fact]
    public async Task EachCommandGetsItsReply()
    {
        string id = _id.Value;
        Assert.Equal("ok 0 message(s) due now\n", await AskAsync("flush\n"));
        Assert.Equal($"ok {id}: on hold\n", await AskAsync($"hold {id}\n"));
        Assert.Equal($"no {id}: nothing to hold: the message is held already, or no recipient is pending\n", await AskAsync($"hold {id}\n"));
        Assert.Equal($"no {id}: nothing to retry: the message is held, or no recipient waits for a retry\n", await AskAsync($"retry {id}\n"));
        Assert.Equal($"ok {id}: released, due now\n", await AskAsync($"release {id}\n"));
        Assert.Equal($"no {id}: nothing to release: the message is not held\n", await AskAsync($"release {id}\n"));
        Assert.Equal($"ok {id}: due now\n", await AskAsync($"retry {id}\n"));
        Assert.Equal("no 0000000000000000: not in the queue\n", await AskAsync("show 0000000000000000\n"));
        Assert.Equal("no 0000000000000000: not in the queue\n", await AskAsync("hold 0000000000000000\n"));
        Assert.Equal(["hold", "hold", "retry", "release", "release", "retry", "hold"], _queue.Calls);
    }

    [Fact]
    public async Task ListAndShowAreDataLinesThenOk()
    {
        string list = await AskAsync("list\n");
        Assert.StartsWith("* QUEUE ID               AGE        SIZE  SENDER / RECIPIENTS (STATUS)\n* " + _id.Value + "  ", list, StringComparison.Ordinal);
        Assert.EndsWith("* " + new string(' ', 42) + "<alice@example.com> (queued)\n* -- 1 message(s), 38 bytes\nok\n", list, StringComparison.Ordinal);
        string show = await AskAsync($"show {_id.Value}\n");
        Assert.StartsWith($"* queue ID:      {_id.Value}\n* reverse-path:  <sender@example.org>\n", show, StringComparison.Ordinal);
        Assert.EndsWith("* headers:\n*   Subject: steer me\n*   X-Test: 1\nok\n", show, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestMayComeInPiecesWithCrLfInAnyCase()
    {
        using Socket socket = await ConnectAsync();
        await socket.SendAsync("HO"u8.ToArray(), SocketFlags.None);
        await Task.Delay(50);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"LD {_id.Value.ToLowerInvariant()}\r\n"), SocketFlags.None);
        Assert.Equal($"ok {_id.Value}: on hold\n", await ReadToEndAsync(socket));
    }

    [Theory]
    [InlineData("\n", "bad empty request; commands: list, show ID, flush, retry ID, hold ID, release ID, delete ID, mailq, trace ID|MESSAGE-ID\n")]
    [InlineData("frob\n", "bad unknown command \"frob\"; commands: list, show ID, flush, retry ID, hold ID, release ID, delete ID, mailq, trace ID|MESSAGE-ID\n")]
    [InlineData("list all\n", "bad list takes no argument\n")]
    [InlineData("trace\n", "bad trace takes one queue ID or Message-ID\n")]
    [InlineData("trace <a@b> c\n", "bad trace takes one queue ID or Message-ID\n")]
    [InlineData("trace <a@b>\n", "no the server keeps no trace\n")]
    [InlineData("hold\n", "bad hold takes one queue ID\n")]
    [InlineData("show 0000000000000000 x\n", "bad show takes one queue ID\n")]
    [InlineData("show 000000000000000I\n", "bad not a queue ID: \"000000000000000I\" (a queue ID is 16 characters of 0-9 and A-Z without I, O, U and Y)\n")]
    [InlineData("list\u001b[2J\n", "bad not a request: \"list?[2J\"; commands: list, show ID, flush, retry ID, hold ID, release ID, delete ID, mailq, trace ID|MESSAGE-ID\n")]
    public async Task BadRequestGetsABadLine(string request, string reply)
    {
        Assert.Equal(reply, await AskAsync(request));
        Assert.Equal("ok 0 message(s) due now\n", await AskAsync("flush\n"));
    }

    [Fact]
    public async Task LineOfExactlyTheLimitIsReadAndOneMoreIsTooLong()
    {
        string padded = "list" + new string(' ', ControlProtocol.MaxRequestLength - 5) + "\n";
        Assert.Equal(ControlProtocol.MaxRequestLength, padded.Length);
        Assert.EndsWith("\nok\n", await AskAsync(padded), StringComparison.Ordinal);
        Assert.Equal("bad request line longer than 512 octets\n", await AskAsync(" " + padded));
    }

    [Fact]
    public async Task SilentClientGetsABadLineAfterTheRequestTimeout()
    {
        using Socket socket = await ConnectAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("bad no request line within 0.3 s\n", await ReadToEndAsync(socket));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task FailureOfTheQueueIsANoLineAndTheServerGoesOn()
    {
        Assert.Equal($"no {_id.Value}: delete failed: No space left on device\n", await AskAsync($"delete {_id.Value}\n"));
        Assert.Equal($"ok {_id.Value}: on hold\n", await AskAsync($"hold {_id.Value}\n"));
    }

    [Fact]
    public async Task StaleSocketFileIsReplacedAndStopRemovesIt()
    {
        await _server.StopAsync(CancellationToken.None);
        Assert.False(File.Exists(_server.SocketPath));
        File.WriteAllText(_server.SocketPath, "left over");
        await using var again = new ControlServer(_dir.Path, _queue, NullLogger<ControlServer>.Instance);
        await again.StartAsync(CancellationToken.None);
        Assert.Equal("ok 0 message(s) due now\n", await AskAsync("flush\n"));
        await again.StopAsync(CancellationToken.None);
        var refused = await Assert.ThrowsAnyAsync<SocketException>(ConnectAsync);
        Assert.Contains(refused.SocketErrorCode, new[] { SocketError.AddressNotAvailable, SocketError.ConnectionRefused, SocketError.SocketError });
    }

    [Fact]
    public async Task DirectoryWhereTheSocketGoesIsAnError()
    {
        using var other = new TempDirectory();
        string dir = other.Path;
        Directory.CreateDirectory(Path.Combine(dir, "control.sock"));
        var server = new ControlServer(dir, _queue, NullLogger<ControlServer>.Instance);
        var e = await Assert.ThrowsAsync<IOException>(() => server.StartAsync(CancellationToken.None));
        Assert.Equal($"{Path.Combine(dir, "control.sock")}: a directory is where the control socket goes", e.Message);
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(_dir.Combine("control.sock")), timeout.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task<string> AskAsync(string request)
    {
        using Socket socket = await ConnectAsync();
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);
        return await ReadToEndAsync(socket);
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reply = new MemoryStream();
        byte[] buffer = new byte[4096];
        for (int i = 0; i < 10_000; i++)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0) break;
            reply.Write(buffer, 0, n);
        }
        return Encoding.UTF8.GetString(reply.ToArray());
    }

    /// <summary>Steers the queue the way the scheduler will, in memory: a set of held messages over the real spool;
    /// delete fails as a full disk would.</summary>
    private sealed class TestQueueControl(Spool spool) : IQueueControl
    {
        private readonly HashSet<QueueId> _held = [];

        public List<string> Calls { get; } = [];

        public IReadOnlyList<QueueEntryInfo> List() => spool.List();

        public SpoolEntry? Show(QueueId id) => spool.Read(id);

        public int Flush() => 0;

        public Task<QueueControlResult> RetryAsync(QueueId id, CancellationToken cancellationToken) =>
            Do("retry", id, () => !_held.Contains(id));

        public Task<QueueControlResult> HoldAsync(QueueId id, CancellationToken cancellationToken) => Do("hold", id, () => _held.Add(id));

        public Task<QueueControlResult> ReleaseAsync(QueueId id, CancellationToken cancellationToken) => Do("release", id, () => _held.Remove(id));

        public Task<QueueControlResult> DeleteAsync(QueueId id, CancellationToken cancellationToken) =>
            throw new IOException("No space left on device");

        private Task<QueueControlResult> Do(string name, QueueId id, Func<bool> change)
        {
            Calls.Add(name);
            if (spool.Read(id) is null) return Task.FromResult(QueueControlResult.NotFound);
            lock (_held) return Task.FromResult(change() ? QueueControlResult.Done : QueueControlResult.NotApplicable);
        }
    }
}
