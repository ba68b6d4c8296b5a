using System.Net;
using Microsoft.Extensions.Logging;
using Postbote.Core;

namespace Postbote.Security.Ube;

/// <summary>
/// Greylisting (RFC 6647) at RCPT: the first attempt of an unknown triplet (client network, reverse-path, recipient;
/// <see cref="GreylistTriplet"/>) gets <c>451 4.7.1 Greylisted, try again in N seconds</c>; a retry before
/// <see cref="GreylistOptions.Delay"/> gets the same with the seconds left; a retry after it and within
/// <see cref="GreylistOptions.RetryWindow"/> is accepted, and the triplet then passes at once until it has had no mail
/// for <see cref="GreylistOptions.Expire"/>. Trusted networks, authenticated sessions and clients on a DNS allow list
/// (<c>[dnswl]</c>) are not greylisted. Times come from the injected clock; state lives in an
/// <see cref="IGreylistStore"/>.
/// </summary>
public sealed class GreylistPolicy : IInboundPolicy, IDisposable
{
    private static readonly EnhancedStatusCode Greylisted = new(4, 7, 1);
    /// <summary>A passed triplet's last-seen time is written again only when it moved by more than this, so a busy
    /// triplet does not write a line per message.</summary>
    private const long LastSeenResolution = 3_600_000;

    private readonly GreylistOptions _options;
    private readonly IGreylistStore _store;
    private readonly DnsListPolicy? _allowLists;
    private readonly TimeProvider _time;
    private readonly ILogger _log;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">The times and network prefixes; validated here.</param>
    /// <param name="store">The triplets; disposed with the policy.</param>
    /// <param name="allowLists">Asks the DNS allow lists, or <c>null</c> when there are none.</param>
    /// <param name="time">The clock.</param>
    /// <param name="log">Where deferrals and passes are logged.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public GreylistPolicy(GreylistOptions options, IGreylistStore store, DnsListPolicy? allowLists, TimeProvider time, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _store = store;
        _allowLists = allowLists;
        _time = time;
        _log = log;
    }

    /// <summary>The store.</summary>
    public IGreylistStore Store => _store;

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckRecipientAsync(SessionInfo session, PolicyTransaction transaction, Mailbox recipient,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(recipient);
        if (!_options.Enabled || session.IsOwnClient) return PolicyDecision.Accept;
        if (_allowLists is not null && await _allowLists.IsAllowListedAsync(session, cancellationToken).ConfigureAwait(false))
            return PolicyDecision.Accept;
        IPAddress client = session.Remote.Address.IsIPv4MappedToIPv6 ? session.Remote.Address.MapToIPv4() : session.Remote.Address;
        var triplet = GreylistTriplet.Of(client, _options.NetworkPrefixV4, _options.NetworkPrefixV6, transaction.ReversePath?.ToString(), recipient.ToString());
        string key = triplet.Key;
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        long delay = (long)Math.Ceiling(_options.Delay.TotalMilliseconds);
        GreylistEntry? found = await _store.FindAsync(key, cancellationToken).ConfigureAwait(false);
        if (found is not { } e
            || !e.HasPassed && now - e.FirstSeen > (long)_options.RetryWindow.TotalMilliseconds
            || e.HasPassed && now - e.LastSeen > (long)_options.Expire.TotalMilliseconds)
        {
            await PutAsync(key, new GreylistEntry(now, 0, now), cancellationToken).ConfigureAwait(false);
            return Defer(triplet, client, delay, "new");
        }
        if (!e.HasPassed)
        {
            long waited = now - e.FirstSeen;
            if (waited < delay) return Defer(triplet, client, delay - waited, $"retried after {waited / 1000.0:0.0} s");
            await PutAsync(key, e with { Passed = now, LastSeen = now }, cancellationToken).ConfigureAwait(false);
            _log.LogInformation("greylist: client [{Client}] from <{Sender}> to <{Recipient}> passed after {Waited:0.0} s",
                client, triplet.Sender, triplet.Recipient, waited / 1000.0);
            return PolicyDecision.Accept;
        }
        if (now - e.LastSeen > LastSeenResolution)
            await PutAsync(key, e with { LastSeen = now }, cancellationToken).ConfigureAwait(false);
        return PolicyDecision.Accept;
    }

    private async ValueTask PutAsync(string key, GreylistEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            await _store.PutAsync(key, entry, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException x)
        {
            // The entry is kept in memory; only its persistence failed. Greylisting goes on.
            _log.LogWarning("greylist: could not write to the store: {Error}", x.Message);
        }
    }

    /// <summary>The deferral, with the time left in whole seconds, rounded up.</summary>
    private static PolicyDecision Defer(GreylistTriplet t, IPAddress client, long leftMilliseconds, string why)
    {
        long seconds = (leftMilliseconds + 999) / 1000;
        return PolicyDecision.Defer(
            new SmtpReply(SmtpReplyCode.LocalError, Greylisted, $"Greylisted, try again in {seconds} seconds"),
            $"greylisted: client [{client}] from <{t.Sender}> to <{t.Recipient}> ({why}), {seconds} s to wait");
    }

    /// <summary>Closes the store.</summary>
    public void Dispose() => _store.Dispose();
}
