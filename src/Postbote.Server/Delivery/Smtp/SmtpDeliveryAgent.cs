using System.Net;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Dns;
using Postbote.Queue;

namespace Postbote.Delivery.Smtp;

/// <summary>
/// Delivers to other domains' mail servers over SMTP (RFC 5321): groups a request's recipients by domain, finds each
/// domain's mail exchangers (<see cref="DestinationResolver"/>, RFC 5321 §5.1), and tries them in order until one takes
/// the transaction. The next exchanger is tried when a connection fails, the greeting or EHLO is refused (4xx or 5xx)
/// or the TLS handshake fails; when all fail, every recipient of the domain is deferred with 4.4.1 and the last error.
/// The relayed bytes are the spool bytes (our Received header first), dot-stuffed for DATA or unchanged for BDAT.
/// </summary>
/// <remarks>
/// Connections are kept for <see cref="SmtpRelayOptions.IdleTime"/> after a message and reused (after RSET) for the next
/// message to the same server, up to <see cref="SmtpRelayOptions.MaxMessagesPerConnection"/> messages. Domains of one
/// request are delivered in parallel. Dispose the agent at shutdown to close kept connections with QUIT.
/// </remarks>
public sealed class SmtpDeliveryAgent : IDeliveryAgent, IAsyncDisposable
{
    private readonly SmtpRelayOptions _options;
    private readonly DestinationResolver _destinations;
    private readonly SmtpConnectionPool _pool;
    private readonly ILogger<SmtpDeliveryAgent> _logger;
    private readonly TimeProvider _time;

    /// <summary>Creates the agent.</summary>
    /// <param name="dns">The DNS resolver for MX, A and AAAA lookups.</param>
    /// <param name="options">Port, timeouts, HELO name and connection reuse.</param>
    /// <param name="logger">Where every attempt is logged.</param>
    /// <param name="time">The clock for idle connections and delays; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    /// <param name="random">Orders mail exchangers of equal preference; <see cref="Random.Shared"/> when <c>null</c>.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public SmtpDeliveryAgent(IDnsResolver dns, SmtpRelayOptions options, ILogger<SmtpDeliveryAgent> logger, TimeProvider? time = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _destinations = new DestinationResolver(dns, random);
        _pool = new SmtpConnectionPool(_time, options.IdleTime, options.MaxIdlePerHost);
    }

    /// <summary>The number of connections kept open for reuse right now.</summary>
    public int IdleConnections => _pool.IdleCount;

    /// <inheritdoc />
    public async Task<IReadOnlyList<RecipientResult>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var groups = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < request.Recipients.Count; i++)
        {
            string domain = request.Recipients[i].Address.Domain;
            if (!groups.TryGetValue(domain, out var list)) groups[domain] = list = [];
            list.Add(i);
        }
        var results = new RecipientResult[request.Recipients.Count];
        var work = groups.Select(async g =>
        {
            var sub = request with { Recipients = g.Value.Select(i => request.Recipients[i]).ToList() };
            IReadOnlyList<RecipientResult> r = await DeliverToDomainAsync(g.Key, sub, cancellationToken).ConfigureAwait(false);
            for (int k = 0; k < g.Value.Count; k++) results[g.Value[k]] = r[k];
        }).ToList();
        await Task.WhenAll(work).ConfigureAwait(false);
        return results;
    }

    private async Task<IReadOnlyList<RecipientResult>> DeliverToDomainAsync(string domain, DeliveryRequest request, CancellationToken cancellationToken)
    {
        QueueId id = request.Envelope.Id;
        if (domain.Length == 0)
        {
            return Report(request, null, new SmtpReply(SmtpReplyCode.MailboxUnavailable, new EnhancedStatusCode(5, 1, 2), "a recipient without a domain cannot be relayed"));
        }
        DestinationLookup lookup = await _destinations.ResolveAsync(domain, cancellationToken).ConfigureAwait(false);
        if (lookup.Failure is { } failure) return Report(request, null, failure);

        string? lastError = null;
        foreach (MailExchanger mx in lookup.Exchangers)
        {
            var endPoint = new IPEndPoint(mx.Address, _options.Port);
            string key = $"{mx.Name}[{mx.Address}]:{_options.Port}";
            SmtpClientSession? session = _pool.TryTake(key);
            if (session is not null && !await session.ResetAsync(cancellationToken).ConfigureAwait(false))
            {
                await session.DisposeAsync().ConfigureAwait(false);
                session = null;
            }
            if (session is null)
            {
                try
                {
                    session = await SmtpClientSession.ConnectAsync(mx.Name, endPoint, SmtpClientProtocol.Smtp, _options.HeloName,
                        _options.Timeouts, _options.ConnectTimeout, opportunisticTls: true, cancellationToken).ConfigureAwait(false);
                }
                catch (SmtpClientException e)
                {
                    lastError = e.Message;
                    _logger.LogInformation("{QueueId}: {Domain}: {Error}; trying the next mail exchanger", id, domain, e.Message);
                    continue;
                }
            }
            IReadOnlyList<RecipientResult> results;
            try
            {
                results = await session.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await session.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            Log(request, session, results);
            if (session.IsUsable && session.Transactions < _options.MaxMessagesPerConnection) _pool.Return(session);
            else await session.QuitAsync().ConfigureAwait(false);
            return results;
        }
        return Report(request, null, new SmtpReply(SmtpReplyCode.LocalError, new EnhancedStatusCode(4, 4, 1),
            $"no mail exchanger of {domain} took the message; last error: {lastError}"));
    }

    private RecipientResult[] Report(DeliveryRequest request, string? remoteHost, SmtpReply reply)
    {
        DeliveryOutcome outcome = reply.IsPermanentFailure ? DeliveryOutcome.PermanentFailure : DeliveryOutcome.TemporaryFailure;
        var result = new RecipientResult(outcome, reply) { RemoteHost = remoteHost };
        var results = new RecipientResult[request.Recipients.Count];
        Array.Fill(results, result);
        Log(request, null, results);
        return results;
    }

    private void Log(DeliveryRequest request, SmtpClientSession? session, IReadOnlyList<RecipientResult> results)
    {
        if (!_logger.IsEnabled(LogLevel.Information)) return;
        double delay = (_time.GetUtcNow() - request.Envelope.ReceivedAt).TotalSeconds;
        for (int i = 0; i < results.Count; i++)
        {
            RecipientResult r = results[i];
            _logger.LogInformation("{QueueId}: to=<{Recipient}> relay={Relay} tls={Tls} delay={Delay:0.###}s {Outcome}: {Reply}",
                request.Envelope.Id, request.Recipients[i].Address, r.RemoteHost ?? "none", session?.TlsDescription ?? "no",
                delay, r.Outcome, r.ReplyText);
        }
    }

    /// <summary>Closes the kept connections with QUIT.</summary>
    /// <returns>A task that completes when they are closed.</returns>
    public ValueTask DisposeAsync() => _pool.DisposeAsync();
}
