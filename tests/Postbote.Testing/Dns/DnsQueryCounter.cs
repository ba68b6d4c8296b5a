using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Postbote.Testing.Dns;

/// <summary>
/// A UDP relay on a free 127.0.0.1 port that counts every query by name and type and passes it to a DNS server, or,
/// without one, answers nothing (a server that does not answer, for timeout tests). Tests point a resolver at
/// <see cref="EndPoint"/> and read the counts to see which lookups were really sent and which came from a cache.
/// UDP only: an answer too large for UDP would show as a failed lookup.
/// </summary>
public sealed class DnsQueryCounter : IAsyncDisposable
{
    private readonly UdpClient front;
    private readonly UdpClient? back;
    private readonly IPEndPoint? upstream;
    private readonly ConcurrentDictionary<(string Name, int Type), int> counts = new();
    private readonly ConcurrentDictionary<ushort, IPEndPoint> waiting = new();
    private readonly CancellationTokenSource stop = new();
    private readonly Task[] loops;
    private int total;

    private DnsQueryCounter(IPEndPoint? upstream)
    {
        this.upstream = upstream;
        front = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        EndPoint = (IPEndPoint)front.Client.LocalEndPoint!;
        if (upstream is not null) back = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        loops = back is null ? [ReceiveQueriesAsync()] : [ReceiveQueriesAsync(), ReceiveAnswersAsync()];
    }

    /// <summary>The address to give the resolver under test.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Decides which queries go unanswered (by name, lower case without trailing dot, and type number): such a
    /// query is counted and dropped, as a server that times out. <c>null</c> passes every query on.</summary>
    public Func<string, int, bool>? Drop { get; set; }

    /// <summary>Every query received so far.</summary>
    public int Total => Volatile.Read(ref total);

    /// <summary>Starts a relay.</summary>
    /// <param name="upstream">The DNS server to pass queries to, or <c>null</c> to answer nothing.</param>
    /// <returns>The running relay.</returns>
    public static DnsQueryCounter Start(IPEndPoint? upstream) => new(upstream);

    /// <summary>How many queries for <paramref name="name"/> and <paramref name="type"/> were received.</summary>
    /// <param name="name">The name, without trailing dot (case does not matter).</param>
    /// <param name="type">The type mnemonic, e.g. <c>MX</c> (see <see cref="DnsWire.Types"/>).</param>
    /// <returns>The count.</returns>
    public int Count(string name, string type) =>
        counts.TryGetValue((name.TrimEnd('.').ToLowerInvariant(), DnsWire.Types[type]), out int n) ? n : 0;

    /// <summary>Stops relaying.</summary>
    /// <returns>A task that completes when the loops ended.</returns>
    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        front.Dispose();
        back?.Dispose();
        try
        {
            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or TimeoutException)
        {
            // Stopped.
        }
        stop.Dispose();
    }

    private async Task ReceiveQueriesAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            UdpReceiveResult query;
            try
            {
                query = await front.ReceiveAsync(stop.Token).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                continue; // An ICMP error from an earlier send to a client that went away.
            }
            if (!DnsWire.TryReadQuestion(query.Buffer, out ushort id, out string name, out int type)) continue;
            counts.AddOrUpdate((name, type), 1, (_, n) => n + 1);
            Interlocked.Increment(ref total);
            if (back is null || Drop?.Invoke(name, type) == true) continue;
            waiting[id] = query.RemoteEndPoint;
            await back.SendAsync(query.Buffer, upstream!, stop.Token).ConfigureAwait(false);
        }
    }

    private async Task ReceiveAnswersAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            UdpReceiveResult answer;
            try
            {
                answer = await back!.ReceiveAsync(stop.Token).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                continue;
            }
            if (answer.Buffer.Length < 12) continue;
            ushort id = (ushort)(answer.Buffer[0] << 8 | answer.Buffer[1]);
            if (waiting.TryRemove(id, out IPEndPoint? client)) await front.SendAsync(answer.Buffer, client, stop.Token).ConfigureAwait(false);
        }
    }
}
