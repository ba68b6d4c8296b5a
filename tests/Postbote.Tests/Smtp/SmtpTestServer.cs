using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Delivery;
using Postbote.Queue;
using Postbote.Routing;
using Postbote.Security;
using Postbote.Smtp;

namespace Postbote.Tests.Smtp;

/// <summary>An in-process SMTP server on a free loopback port with a real spool in a temp directory (no delivery).</summary>
public sealed class SmtpTestServer : IAsyncDisposable
{
    private readonly TempDirectory _dir;

    private SmtpTestServer(TempDirectory dir, Spool spool, SmtpServer server)
    {
        _dir = dir;
        Spool = spool;
        Server = server;
    }

    public Spool Spool { get; }
    public SmtpServer Server { get; }
    public IPEndPoint EndPoint => Server.BoundEndpoints[0];

    /// <param name="configure">Changes the options before the server starts.</param>
    /// <param name="sink">Makes the sink messages go to, given the spool (by default the spool itself).</param>
    /// <param name="policy">Makes the inbound policy, given the relay policy (by default the relay policy itself).</param>
    public static async Task<SmtpTestServer> StartAsync(Action<SmtpServerOptions>? configure = null, Func<Spool, IMessageSink>? sink = null,
        Func<RelayPolicy, IInboundPolicy>? policy = null)
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
        var server = new SmtpServer(options, WithPolicy(new RelayPolicy(new LocalRecipients(local)), policy), sink?.Invoke(spool) ?? spool, NullLoggerFactory.Instance, TimeProvider.System);
        await server.StartAsync(CancellationToken.None);
        return new SmtpTestServer(dir, spool, server);
    }

    /// <summary>Connects the shared test client to the server and reads the greeting.</summary>
    private static IInboundPolicy WithPolicy(RelayPolicy relay, Func<RelayPolicy, IInboundPolicy>? policy) => policy is null ? relay : policy(relay);

    public Task<SmtpConnection> ConnectAsync() => SmtpConnection.ConnectAsync(EndPoint.Port);

    /// <summary>
    /// Connects, says EHLO, then sends MAIL FROM:&lt;alice@example.org&gt;, RCPT TO:&lt;rcpt@example.com&gt; and DATA in one
    /// write (RFC 2920) and asserts the last of their replies is the 354: the client is then inside DATA.
    /// </summary>
    public async Task<SmtpConnection> ConnectInDataAsync()
    {
        var c = await ConnectAsync();
        try
        {
            await c.ExchangeAsync("EHLO client.example.org\r\n");
            string replies = await c.ExchangeAsync("MAIL FROM:<alice@example.org>\r\nRCPT TO:<rcpt@example.com>\r\nDATA\r\n", 3);
            Assert.EndsWith("354 End data with <CR><LF>.<CR><LF>\r\n", replies);
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Spool.Dispose();
        _dir.Dispose();
    }
}
