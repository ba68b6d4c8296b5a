using System.Net;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Dns;
using Postbote.Queue;
using Postbote.Routing;

namespace Postbote.Delivery.Smtp;

/// <summary>
/// Delivers to other domains' mail servers over SMTP (RFC 5321): groups a request's recipients by domain, finds each
/// domain's mail exchangers (<see cref="DestinationResolver"/>, RFC 5321 §5.1), and tries them in order until one takes
/// the transaction. The next exchanger is tried when a connection fails, the greeting or EHLO is refused (4xx or 5xx)
/// or the TLS handshake fails; when all fail, every recipient of the domain is deferred with 4.4.1 and the last error.
/// The relayed bytes are the spool bytes (our Received header first), dot-stuffed for DATA or unchanged for BDAT.
/// </summary>
/// <remarks>
/// <para>Loops (RFC 5321 §6.3) fail at once with 5.4.6 instead of being relayed to ourselves again and again: a message
/// with more <c>Received:</c> fields than <see cref="SmtpRelayOptions.HopCountLimit"/>; a destination whose best mail
/// exchanger (or every address of its next hop) is one of this server's listeners (<see cref="SmtpRelayOptions.OwnEndpoints"/>;
/// a less preferred exchanger that is us cuts the list there, as a backup MX delivers only to better ones); a server whose
/// greeting or EHLO reply names our own host name. A reply that asks to slow down (<see cref="ThrottleReply"/>) marks
/// the results <see cref="RecipientResult.Throttled"/> for the scheduler's destination feedback.</para>
/// </remarks>
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
        _destinations = new DestinationResolver(dns, random, options.AddressPreference);
        _pool = new SmtpConnectionPool(_time, options.IdleTime, options.MaxIdlePerHost);
    }

    /// <summary>The number of connections kept open for reuse right now.</summary>
    public int IdleConnections => _pool.IdleCount;

    /// <inheritdoc />
    public async Task<IReadOnlyList<RecipientResult>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // One group per next hop: a transport or the smarthost (every domain it serves in one transaction), else the
        // recipient's domain and its MX.
        var groups = new Dictionary<string, (Transport? Hop, string Domain, List<int> Indices)>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < request.Recipients.Count; i++)
        {
            string domain = request.Recipients[i].Address.Domain;
            Transport? hop = NextHop(domain);
            string key = hop?.ToString() ?? domain;
            if (!groups.TryGetValue(key, out var group)) groups[key] = group = (hop, domain, []);
            group.Indices.Add(i);
        }
        var results = new RecipientResult[request.Recipients.Count];
        // RFC 5321 §6.3: a message that has passed more hops than the limit is in a loop; the next hop would refuse it.
        // LMTP is final delivery, no hop.
        bool tooManyHops = _options.HopCountLimit > 0 && groups.Values.Any(static g => g.Hop is not { Kind: TransportKind.Lmtp })
            && HeaderScan.CountReceived(request, _options.HopCountLimit + 1) > _options.HopCountLimit;
        var work = groups.Values.Select(async g =>
        {
            var sub = request with { Recipients = g.Indices.Select(i => request.Recipients[i]).ToList() };
            IReadOnlyList<RecipientResult> r;
            if (tooManyHops && g.Hop is not { Kind: TransportKind.Lmtp })
            {
                r = Report(sub, null, new SmtpReply(SmtpReplyCode.TransactionFailed, SmtpClientSession.LoopDetected,
                    $"too many hops: more than {_options.HopCountLimit} Received: header fields (limits.hop_count_limit), mail loops"));
            }
            else
            {
                r = g.Hop is { } hop
                    ? await DeliverToTransportAsync(hop, sub, cancellationToken).ConfigureAwait(false)
                    : await DeliverToDomainAsync(g.Domain, sub, cancellationToken).ConfigureAwait(false);
            }
            for (int k = 0; k < g.Indices.Count; k++) results[g.Indices[k]] = r[k];
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
        IReadOnlyList<MailExchanger> exchangers = lookup.Exchangers;
        // Postfix's rule for an MX list that names this server: only exchangers more preferred than we are are tried (we
        // are their backup); when we are the best one, the mail has nowhere to go but back to us.
        MailExchanger? self = exchangers.Where(mx => _options.OwnEndpoints.Contains(new IPEndPoint(mx.Address, _options.Port)))
            .MinBy(mx => mx.Preference);
        if (self is not null)
        {
            exchangers = exchangers.Where(mx => mx.Preference < self.Preference).ToList();
            if (exchangers.Count == 0)
            {
                _logger.LogWarning("{QueueId}: mail exchanger {Name}[{Address}]:{Port} of {Domain} is this server's own listener",
                    id, self.Name, self.Address, _options.Port, domain);
                return Report(request, null, LoopsBack(domain, $"mail exchanger {self.Name}[{self.Address}]:{_options.Port} is this server"));
            }
        }
        var hops = exchangers.Select(mx => (mx.Name, (EndPoint)new IPEndPoint(mx.Address, _options.Port))).ToList();
        return await DeliverViaAsync(domain, "mail exchanger", hops, SmtpClientProtocol.Smtp, null, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Delivers through a fixed next hop: a <c>[relay.transports]</c> entry or the smarthost. A host name is
    /// resolved to its addresses, never to its MX (the brackets of <c>[host]</c>, as in Postfix); every address is tried
    /// in turn.</summary>
    private async Task<IReadOnlyList<RecipientResult>> DeliverToTransportAsync(Transport hop, DeliveryRequest request, CancellationToken cancellationToken)
    {
        SmtpClientProtocol protocol = hop.Kind == TransportKind.Lmtp ? SmtpClientProtocol.Lmtp : SmtpClientProtocol.Smtp;
        var hops = new List<(string, EndPoint)>();
        if (hop.UnixPath is { } path)
        {
            hops.Add(("localhost", new System.Net.Sockets.UnixDomainSocketEndPoint(path)));
        }
        else
        {
            DestinationLookup lookup = await _destinations.ResolveHostAsync(hop.Host!, cancellationToken).ConfigureAwait(false);
            if (lookup.Failure is { } failure) return Report(request, null, failure);
            hops.AddRange(lookup.Exchangers.Select(a => (a.Name, (EndPoint)new IPEndPoint(a.Address, hop.Port))));
            // A next hop that is this server's own listener would take the mail back.
            int all = hops.Count;
            hops.RemoveAll(h => _options.OwnEndpoints.Contains((IPEndPoint)h.Item2));
            if (hops.Count == 0)
            {
                _logger.LogWarning("{QueueId}: next hop {Hop} is this server's own listener", request.Envelope.Id, hop);
                return Report(request, null, LoopsBack(hop.ToString(), all == 1 ? $"next hop {lookup.Exchangers[0].Address}:{hop.Port} is this server"
                    : $"every address of {hop.Host} is this server"));
            }
        }
        NetworkCredential? credential = ReferenceEquals(hop, _options.Smarthost) ? _options.SmarthostCredential : null;
        return await DeliverViaAsync(hop.ToString(), "address", hops, protocol, credential, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The fixed next hop of a recipient domain: its <c>[relay.transports]</c> entry, else the smarthost, else
    /// <c>null</c> (the domain's MX).</summary>
    private Transport? NextHop(string domain) => _options.Transports.Find(domain) ?? _options.Smarthost;

    /// <summary>Tries the hops in order until one takes the transaction: the next one after a connection failure, a
    /// refused greeting or hello, or a failed TLS handshake (RFC 5321 §5.1: "the SMTP client SHOULD try at least two
    /// addresses").</summary>
    private async Task<IReadOnlyList<RecipientResult>> DeliverViaAsync(string destination, string what,
        IReadOnlyList<(string Name, EndPoint EndPoint)> hops, SmtpClientProtocol protocol, NetworkCredential? credential,
        DeliveryRequest request, CancellationToken cancellationToken)
    {
        QueueId id = request.Envelope.Id;
        string domain = destination;
        string? lastError = null;
        bool throttled = false;
        foreach (var (name, endPoint) in hops)
        {
            string key = endPoint switch
            {
                IPEndPoint ip => $"{name}[{ip.Address}]:{ip.Port}",
                _ => $"{name}[{endPoint}]",
            };
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
                    IPAddress? from = endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? _options.BindAddress6 : _options.BindAddress;
                    session = await SmtpClientSession.ConnectAsync(name, endPoint, protocol, _options.HeloName,
                        _options.Timeouts, _options.ConnectTimeout, opportunisticTls: true, from, _options.OwnHostName, cancellationToken).ConfigureAwait(false);
                    if (credential is not null) await session.AuthenticateAsync(credential, cancellationToken).ConfigureAwait(false);
                    session.Signing = _options.Signing;
                }
                catch (SmtpClientException e)
                {
                    if (session is not null) await session.DisposeAsync().ConfigureAwait(false);
                    session = null;
                    if (e.Reply.Status == SmtpClientSession.LoopDetected)
                    {
                        _logger.LogWarning("{QueueId}: {Error}", id, e.Message);
                        return Report(request, null, LoopsBack(domain, string.Join(" ", e.Reply.Lines)));
                    }
                    throttled |= ThrottleReply.IsThrottling(e.Reply);
                    lastError = e.Message;
                    _logger.LogInformation("{QueueId}: {Domain}: {Error}; trying the next {What}", id, domain, e.Message, what);
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
            results = results.Select(r => r.Outcome == DeliveryOutcome.TemporaryFailure && ThrottleReply.IsThrottling(r.Reply) ? r with { Throttled = true } : r).ToList();
            Log(request, session, results);
            if (session.IsUsable && session.Transactions < _options.MaxMessagesPerConnection) _pool.Return(session);
            else await session.QuitAsync().ConfigureAwait(false);
            return results;
        }
        return Report(request, null, new SmtpReply(SmtpReplyCode.LocalError, new EnhancedStatusCode(4, 4, 1),
            $"no {what} of {domain} took the message; last error: {lastError}"), throttled);
    }

    /// <summary>Postfix's words for a routing loop: <c>554 5.4.6 mail for D loops back to myself</c>, with the reason.</summary>
    private static SmtpReply LoopsBack(string destination, string reason) =>
        new(SmtpReplyCode.TransactionFailed, SmtpClientSession.LoopDetected, $"mail for {destination} loops back to myself ({reason})");

    private RecipientResult[] Report(DeliveryRequest request, string? remoteHost, SmtpReply reply, bool throttled = false)
    {
        DeliveryOutcome outcome = reply.IsPermanentFailure ? DeliveryOutcome.PermanentFailure : DeliveryOutcome.TemporaryFailure;
        var result = new RecipientResult(outcome, reply) { RemoteHost = remoteHost, Throttled = throttled && outcome == DeliveryOutcome.TemporaryFailure };
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
