using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Delivery;
using Postbote.Queue;
using Postbote.Security;
using Postbote.Smtp;

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

    /// <summary>Connects the shared test client to the server and reads the greeting.</summary>
    public Task<SmtpConnection> ConnectAsync() => SmtpConnection.ConnectAsync(EndPoint.Port);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Spool.Dispose();
        _dir.Dispose();
    }
}
