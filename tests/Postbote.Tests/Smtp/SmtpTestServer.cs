using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Delivery;
using Postbote.Queue;
using Postbote.Routing;
using Postbote.Security;
using Postbote.Smtp;
using Postbote.Tests.Queue;

namespace Postbote.Tests.Smtp;

/// <summary>An in-process SMTP server on a free loopback port with a real spool in a temp directory (no delivery).</summary>
public sealed class SmtpTestServer : IAsyncDisposable
{
    private readonly TempDirectory _dir = new();

    private SmtpTestServer(Spool spool, SmtpServer server)
    {
        Spool = spool;
        Server = server;
    }

    public Spool Spool { get; }
    public SmtpServer Server { get; }
    public IPEndPoint EndPoint => Server.BoundEndpoints[0];

    /// <param name="configure">Changes the options before the server starts.</param>
    /// <param name="sink">Makes the sink messages go to, given the spool (by default the spool itself).</param>
    public static async Task<SmtpTestServer> StartAsync(Action<SmtpServerOptions>? configure = null, Func<Spool, IMessageSink>? sink = null)
    {
        var dir = new TempDirectory();
        var options = new SmtpServerOptions
        {
            HostName = "mx.example.com",
            Listeners = new List<ListenerOptions> { new(new IPEndPoint(IPAddress.Loopback, 0)) },
            TrustedNetworks = new List<IPNetwork>(),
        };
        options.Limits.MessageSize = 100_000;
        configure?.Invoke(options);
        var local = new LocalDeliveryOptions
        {
            Domains = new List<string> { "example.com" },
            Mailboxes = new List<string> { "rcpt@example.com", "alice@example.com", "postmaster@example.com" },
            MaildirRoot = dir.Combine("mail"),
        };
        var spool = new Spool(new SpoolOptions { Directory = dir.Combine("spool"), CorruptDirectory = dir.Combine("corrupt") }, NullLogger<Spool>.Instance);
        var server = new SmtpServer(options, new RelayPolicy(new LocalRecipients(local)), sink?.Invoke(spool) ?? spool, NullLoggerFactory.Instance, TimeProvider.System);
        await server.StartAsync(CancellationToken.None);
        return new SmtpTestServer(spool, server);
    }

    public async Task<SmtpTestClient> ConnectAsync()
    {
        var client = new SmtpTestClient();
        await client.ConnectAsync(EndPoint);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Spool.Dispose();
        _dir.Dispose();
    }
}

/// <summary>A raw TCP client that sends exact bytes and reads complete replies (up to the last <c>NNN SP</c> line).</summary>
public sealed class SmtpTestClient : IDisposable
{
    private readonly TcpClient _tcp = new() { NoDelay = true };
    private NetworkStream _stream = null!;
    private readonly StringBuilder _pending = new();

    public string Greeting { get; private set; } = "";

    public async Task ConnectAsync(IPEndPoint ep)
    {
        await _tcp.ConnectAsync(ep);
        _stream = _tcp.GetStream();
        Greeting = await ReadRepliesAsync(1);
    }

    /// <summary>Sends raw text (Latin-1, so every char is one octet) and reads <paramref name="replies"/> complete replies.</summary>
    public async Task<string> SendAsync(string raw, int replies = 1)
    {
        await SendRawAsync(Encoding.Latin1.GetBytes(raw));
        return replies == 0 ? "" : await ReadRepliesAsync(replies);
    }

    public Task SendRawAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    /// <summary>Reads until <paramref name="count"/> final reply lines arrived or the server closed (then "&lt;closed&gt;" is appended).</summary>
    public async Task<string> ReadRepliesAsync(int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var buffer = new byte[4096];
        while (true)
        {
            string text = _pending.ToString();
            int finals = 0, end = 0;
            foreach (var (line, next) in Lines(text))
            {
                if (line.Length >= 4 && line[3] == ' ' || line.Length == 3) finals++;
                end = next;
                if (finals == count) break;
            }
            if (finals == count)
            {
                _pending.Remove(0, end);
                return text[..end];
            }
            int n;
            try
            {
                n = await _stream.ReadAsync(buffer, cts.Token);
            }
            catch (IOException)
            {
                n = 0;
            }
            if (n == 0)
            {
                _pending.Clear();
                return text + "<closed>";
            }
            _pending.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }
    }

    private static IEnumerable<(string Line, int Next)> Lines(string text)
    {
        int start = 0;
        while (true)
        {
            int lf = text.IndexOf('\n', start);
            if (lf < 0) yield break;
            yield return (text[start..lf].TrimEnd('\r'), lf + 1);
            start = lf + 1;
        }
    }

    public void Dispose() => _tcp.Dispose();
}
