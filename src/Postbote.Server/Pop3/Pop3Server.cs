using System.Net;
using Microsoft.Extensions.Logging;
using Postbote.MailStore;
using Postbote.Net;
using Postbote.Protocol.Pop3;
using Postbote.Security;

namespace Postbote.Pop3;

/// <summary>
/// The POP3 service (RFC 1939): a <see cref="ConnectionListener{TEndPoint}"/> on the configured endpoints (connection
/// limits in all and per address, deadlines on one heartbeat) running one <see cref="Pop3Session"/> per connection over
/// the maildrops of an <see cref="IMaildropStore"/>.
/// </summary>
public sealed class Pop3Server : IAsyncDisposable, IProtocolSessionFactory<Pop3ListenerOptions>
{
    private readonly ILogger _log;
    private readonly ConnectionListener<Pop3ListenerOptions> _listener;

    /// <summary>Creates the server; call <see cref="Start"/> to listen.</summary>
    /// <param name="options">The configuration; its limits are validated here.</param>
    /// <param name="authentication">The mechanisms and the failure limiter shared with SMTP.</param>
    /// <param name="maildrops">The maildrops.</param>
    /// <param name="loggers">Logger factory.</param>
    /// <param name="time">The clock for timeouts.</param>
    /// <param name="tls">The TLS certificate for STLS and implicit TLS, or <c>null</c> for none.</param>
    /// <param name="smtpAfterPop">Where logins are recorded for SMTP-after-POP, or <c>null</c> when it is off.</param>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range.</exception>
    /// <exception cref="ArgumentException">An implicit-TLS listener is configured without <paramref name="tls"/>.</exception>
    public Pop3Server(Pop3ServerOptions options, Pop3Authentication authentication, IMaildropStore maildrops, ILoggerFactory loggers,
        TimeProvider time, TlsCertificateProvider? tls = null, ISmtpAfterPop? smtpAfterPop = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (tls is null && options.Listeners.Any(l => l.ImplicitTls))
            throw new ArgumentException("an implicit-TLS POP3 listener (pop3.listen_tls) needs a TLS certificate", nameof(tls));
        options.Limits.Validate();
        Options = options;
        Authentication = authentication;
        Maildrops = maildrops;
        Tls = tls;
        SmtpAfterPop = smtpAfterPop;
        Time = time;
        _log = loggers.CreateLogger("Postbote.Pop3");
        Pop3ServerLimits l = options.Limits;
        _listener = new ConnectionListener<Pop3ListenerOptions>(options.Listeners.ToList(),
            new ConnectionLimits(l.MaxConnections, l.MaxConnectionsPerIp, l.IdleTimeout, l.CommandLineTimeout), this, _log, time);
    }

    internal Pop3ServerOptions Options { get; }
    internal Pop3Authentication Authentication { get; }
    internal IMaildropStore Maildrops { get; }
    internal TlsCertificateProvider? Tls { get; }
    internal ISmtpAfterPop? SmtpAfterPop { get; }
    internal TimeProvider Time { get; }

    /// <summary>The endpoints actually bound (the real port when 0 was configured), in the order of
    /// <see cref="Pop3ServerOptions.Listeners"/>.</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints => _listener.BoundEndpoints;

    /// <summary>The number of open connections.</summary>
    public int ConnectionCount => _listener.ConnectionCount;

    /// <summary>Binds every configured endpoint, then accepts connections: all listeners or none.</summary>
    /// <exception cref="EndPointBindException">An endpoint cannot be bound; its <see cref="EndPointBindException.Index"/>
    /// is the position in <see cref="Pop3ServerOptions.Listeners"/>, and nothing listens.</exception>
    public void Start()
    {
        _listener.Start();
        foreach (var (bound, listener) in _listener.Bound)
            _log.LogInformation("POP3 listening on {Endpoint} ({Tls})", bound,
                Tls is null ? "no TLS" : listener.ImplicitTls ? "implicit TLS" : "STLS");
    }

    /// <inheritdoc />
    IProtocolSession IProtocolSessionFactory<Pop3ListenerOptions>.Create(Connection connection, Pop3ListenerOptions listener) =>
        new Pop3Session(this, listener, connection, _log);

    /// <inheritdoc />
    ReadOnlyMemory<byte> IProtocolSessionFactory<Pop3ListenerOptions>.Refusal(Pop3ListenerOptions listener, ConnectionRefusal refusal, IPAddress client) =>
        listener.ImplicitTls ? ReadOnlyMemory<byte>.Empty
            : System.Text.Encoding.ASCII.GetBytes(Pop3Reply.Err(refusal == ConnectionRefusal.TooManyConnections
                ? "Too many connections, try again later" : $"Too many connections from {client}", Pop3ResponseCode.SysTemp).ToString());

    /// <summary>Stops listening; idle sessions are closed at once, a session sending a message may finish it for up to
    /// <see cref="Pop3ServerLimits.ShutdownTimeout"/>. No session enters the UPDATE state on the way.</summary>
    /// <param name="cancellationToken">Gives up waiting for sessions.</param>
    /// <returns>A task that completes when every session has ended or waiting was given up.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener.IsStopping) return;
        await _listener.StopAsync(Options.Limits.ShutdownTimeout + TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        _log.LogInformation("POP3 service stopped; {Open} connections still open", ConnectionCount);
    }

    /// <summary>Stops the server and its heartbeat.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
    }
}
