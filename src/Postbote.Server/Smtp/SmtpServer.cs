using Postbote.Tracing;
using System.Net;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Net;
using Postbote.Protocol.Smtp;
using Postbote.Queue;
using Postbote.Security;

namespace Postbote.Smtp;

/// <summary>
/// The SMTP service: a <see cref="ConnectionListener{TEndPoint}"/> on the configured endpoints (connection limits in all
/// and per client IP, deadlines on one heartbeat) that runs one <see cref="SmtpSession"/> per connection. Receiving never
/// delivers: accepted messages go to the <see cref="IMessageSink"/> (the spool) only.
/// </summary>
public sealed class SmtpServer : IAsyncDisposable, IProtocolSessionFactory<ListenerOptions>
{
    private readonly ILogger _log;
    private readonly ConnectionListener<ListenerOptions> _listener;

    /// <summary>Creates the server; call <see cref="StartAsync"/> to listen.</summary>
    /// <param name="options">The configuration; its limits are validated here.</param>
    /// <param name="policy">The inbound policy.</param>
    /// <param name="sink">The spool.</param>
    /// <param name="loggers">Logger factory.</param>
    /// <param name="time">The clock for timeouts and timestamps.</param>
    /// <param name="tls">The TLS certificate for STARTTLS and implicit TLS, or <c>null</c> for none.</param>
    /// <param name="authentication">SASL mechanisms and failure limiter for AUTH, or <c>null</c> for no AUTH.</param>
    /// <param name="events">Where each queued message's reception, policy decisions and commit are traced, or <c>null</c>.</param>
    /// <param name="metrics">The instruments for sessions, replies, TLS, accepted and refused messages, or <c>null</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A limit in <paramref name="options"/> is out of range.</exception>
    /// <exception cref="ArgumentException">An implicit-TLS listener is configured without <paramref name="tls"/>.</exception>
    public SmtpServer(SmtpServerOptions options, IInboundPolicy policy, IMessageSink sink, ILoggerFactory loggers, TimeProvider time,
        TlsCertificateProvider? tls = null, SmtpAuthentication? authentication = null, IMessageEvents? events = null,
        PostboteMetrics? metrics = null)
    {
        Events = events ?? NullMessageEvents.Instance;
        Metrics = metrics;
        if (tls is null && options.Listeners.Any(l => l.ImplicitTls))
            throw new ArgumentException("an implicit-TLS (submissions) listener needs a TLS certificate", nameof(tls));
        Tls = tls;
        Authentication = authentication;
        options.Limits.Validate();
        Options = options;
        Policy = policy;
        Sink = sink;
        Time = time;
        _log = loggers.CreateLogger("Postbote.Smtp");
        SmtpServerLimits l = options.Limits;
        _listener = new ConnectionListener<ListenerOptions>(options.Listeners.ToList(),
            new ConnectionLimits(l.MaxConnections, l.MaxConnectionsPerIp, l.IdleTimeout, l.CommandLineTimeout), this, _log, time);
        EhloReply = BuildEhloReply(options);
        Greeting = System.Text.Encoding.ASCII.GetBytes(SmtpReplies.Greeting(options.HostName).ToString());
    }

    internal SmtpServerOptions Options { get; }
    internal IInboundPolicy Policy { get; }
    internal IMessageSink Sink { get; }
    internal TimeProvider Time { get; }
    internal SmtpReply EhloReply { get; }
    internal byte[] Greeting { get; }
    internal TlsCertificateProvider? Tls { get; }
    internal SmtpAuthentication? Authentication { get; }
    internal IMessageEvents Events { get; }
    internal PostboteMetrics? Metrics { get; }

    /// <summary>The endpoints actually bound (with the real port when 0 was configured), in the order of
    /// <see cref="SmtpServerOptions.Listeners"/>.</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints => _listener.BoundEndpoints;

    /// <summary>The number of open connections.</summary>
    public int ConnectionCount => _listener.ConnectionCount;

    /// <summary>The connection limit in force: <see cref="SmtpServerLimits.MaxConnections"/>, lowered at
    /// <see cref="StartAsync"/> to what the process's file descriptor limit carries (<see cref="DescriptorLimit"/>).</summary>
    public int MaxConnections => _listener.MaxConnections;

    /// <summary>The EHLO reply (RFC 5321 §4.1.1.1): the host name, then exactly the enabled extensions.</summary>
    private static SmtpReply BuildEhloReply(SmtpServerOptions o)
    {
        var lines = new List<string> { o.HostName };
        SmtpExtensions e = o.Extensions;
        if (e.HasFlag(SmtpExtensions.Pipelining)) lines.Add("PIPELINING");
        if (e.HasFlag(SmtpExtensions.Size)) lines.Add("SIZE " + o.Limits.MessageSize);
        if (o.Vrfy) lines.Add("VRFY");
        if (o.Expn) lines.Add("EXPN");
        if (e.HasFlag(SmtpExtensions.EnhancedStatusCodes)) lines.Add("ENHANCEDSTATUSCODES");
        if (e.HasFlag(SmtpExtensions.EightBitMime)) lines.Add("8BITMIME");
        if (e.HasFlag(SmtpExtensions.SmtpUtf8)) lines.Add("SMTPUTF8");
        if (e.HasFlag(SmtpExtensions.Chunking)) lines.Add("CHUNKING");
        if (e.HasFlag(SmtpExtensions.Chunking) && e.HasFlag(SmtpExtensions.BinaryMime)) lines.Add("BINARYMIME");
        if (e.HasFlag(SmtpExtensions.Dsn)) lines.Add("DSN");
        return new SmtpReply(SmtpReplyCode.Ok, null, lines);
    }

    /// <summary>Binds every configured endpoint, then starts accepting connections: all listeners or none.</summary>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>A task that completes when all endpoints are bound.</returns>
    /// <exception cref="ListenerBindException">An endpoint cannot be bound (in use, no permission, no such address); the
    /// endpoints bound before it are closed again, so nothing listens.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _listener.Start();
        }
        catch (EndPointBindException e)
        {
            throw new ListenerBindException(Options.Listeners[e.Index], e.Error);
        }
        foreach (var (bound, listener) in _listener.Bound)
        {
            _log.LogInformation("listening on {Endpoint} ({Kind}{Tls})", bound, listener.Kind,
                Tls is null ? ", no TLS" : listener.ImplicitTls ? ", implicit TLS" : ", STARTTLS");
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    IProtocolSession IProtocolSessionFactory<ListenerOptions>.Create(Connection connection, ListenerOptions listener)
    {
        IPAddress ip = connection.Remote.Address.IsIPv4MappedToIPv6 ? connection.Remote.Address.MapToIPv4() : connection.Remote.Address;
        var info = new SessionInfo(connection.Id, connection.Remote, connection.Local, Options.IsTrusted(ip));
        return new SmtpSession(this, listener, connection, info, _log);
    }

    /// <inheritdoc />
    ReadOnlyMemory<byte> IProtocolSessionFactory<ListenerOptions>.Refusal(ListenerOptions listener, ConnectionRefusal refusal, IPAddress client) =>
        // On an implicit-TLS port a clear-text reply would be garbage to the client: close without one.
        listener.ImplicitTls ? ReadOnlyMemory<byte>.Empty
            : System.Text.Encoding.ASCII.GetBytes(SmtpReplies.TooManyConnections(refusal, Options.HostName, client).ToString());

    /// <summary>
    /// Stops listening and drains: idle sessions get <c>421 4.3.2</c> at once; sessions receiving a message may finish
    /// it for up to <see cref="SmtpServerLimits.ShutdownTimeout"/>, then get <c>421</c> and their message is discarded
    /// unacknowledged.
    /// </summary>
    /// <param name="cancellationToken">Gives up waiting for sessions.</param>
    /// <returns>A task that completes when every session has ended or waiting was given up.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener.IsStopping) return;
        await _listener.StopAsync(Options.Limits.ShutdownTimeout + TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        _log.LogInformation("SMTP service stopped; {Open} connections still open", ConnectionCount);
    }

    /// <summary>Stops the server and its heartbeat.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
    }
}
