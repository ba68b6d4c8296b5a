using System.Globalization;
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Postbote.Dns;

/// <summary>
/// <see cref="IDnsResolver"/> over DnsClient: a stub resolver that asks the configured recursive resolvers (UDP, TCP
/// when an answer is truncated) and keeps answers in its own TTL cache (<see cref="DnsResolverOptions"/>).
/// </summary>
/// <remarks>DnsClient's own cache is off: this cache follows RFC 2308 (negative answers for the SOA's negative TTL, none
/// without a SOA), caps TTLs, is bounded in entries and runs on an injected <see cref="TimeProvider"/>. Temporary failures
/// are not cached (RFC 2308 §7 allows up to five minutes; the caller's retry schedule already spaces the next
/// try).</remarks>
public sealed class DnsResolver : IDnsResolver
{
    private readonly LookupClient client;
    private readonly DnsCache cache;
    private readonly DnsResolverOptions options;
    private readonly ILogger logger;
    private readonly string servers;

    /// <summary>Creates a resolver.</summary>
    /// <param name="options">The settings; <see cref="DnsResolverOptions.Servers"/> empty means those of
    /// <c>/etc/resolv.conf</c>.</param>
    /// <param name="timeProvider">The clock of the cache; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    /// <param name="logger">Where each lookup is logged at debug level and each failure at information level.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">A setting is out of range (<see cref="DnsResolverOptions.Validate"/>).</exception>
    /// <exception cref="IOException"><c>/etc/resolv.conf</c> is needed and cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException"><c>/etc/resolv.conf</c> is needed and may not be read.</exception>
    public DnsResolver(DnsResolverOptions options, TimeProvider? timeProvider = null, ILogger<DnsResolver>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
        this.logger = (ILogger?)logger ?? NullLogger.Instance;
        IReadOnlyList<IPEndPoint> endpoints = options.Servers.Count > 0 ? options.Servers : ResolvConf.ReadNameServers(ResolvConf.DefaultPath);
        servers = string.Join(", ", endpoints.Select(e => e.ToString()));
        cache = new DnsCache(options.CacheSize, timeProvider ?? TimeProvider.System);
        client = new LookupClient(new LookupClientOptions(endpoints.Select(e => new NameServer(e)).ToArray())
        {
            UseCache = false,
            Timeout = options.Timeout,
            Retries = options.Retries,
            UseTcpFallback = true,
            ThrowDnsErrors = false,
            // SERVFAIL or REFUSED from one server: ask the next. An empty answer (NODATA) is an answer.
            ContinueOnDnsError = true,
            ContinueOnEmptyResponse = false,
            UseRandomNameServer = false,
            Recursion = true,
            EnableAuditTrail = false,
        });
    }

    /// <summary>How many answers the cache holds now (expired ones included until they are next asked for).</summary>
    internal int CachedAnswers => cache.Count;

    /// <inheritdoc/>
    public async ValueTask<DnsResult<MxRecord>> LookupMxAsync(string domain, CancellationToken cancellationToken = default)
    {
        DnsResult<MxRecord> result = await LookupAsync(DnsName.Normalize(domain), QueryType.MX,
            answers => answers.MxRecords()
                .Select(r => new MxRecord(r.Preference, DnsName.FromAnswer(r.Exchange.Value)))
                .OrderBy(r => r.Preference).ThenBy(r => r.Exchange, StringComparer.Ordinal)
                .ToList(),
            cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <inheritdoc/>
    public ValueTask<DnsResult<IPAddress>> LookupAAsync(string name, CancellationToken cancellationToken = default) =>
        LookupAsync(DnsName.Normalize(name), QueryType.A,
            answers => answers.ARecords().Select(r => r.Address).ToList(), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DnsResult<IPAddress>> LookupAaaaAsync(string name, CancellationToken cancellationToken = default) =>
        LookupAsync(DnsName.Normalize(name), QueryType.AAAA,
            answers => answers.AaaaRecords().Select(r => r.Address).ToList(), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DnsResult<TxtRecord>> LookupTxtAsync(string name, CancellationToken cancellationToken = default) =>
        LookupAsync(DnsName.Normalize(name), QueryType.TXT,
            answers => answers.TxtRecords().Select(r => new TxtRecord(r.Text.ToList())).ToList(), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DnsResult<string>> LookupPtrAsync(IPAddress address, CancellationToken cancellationToken = default) =>
        LookupAsync(DnsName.Reverse(address), QueryType.PTR,
            answers => answers.PtrRecords().Select(r => DnsName.FromAnswer(r.PtrDomainName.Value)).ToList(), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DnsResult<IPAddress>> LookupAAsync(string name, DnsNameSyntax syntax, CancellationToken cancellationToken = default) =>
        LookupAsync(DnsName.Normalize(name, syntax), QueryType.A,
            answers => answers.ARecords().Select(r => r.Address).ToList(), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DnsResult<IPAddress>> LookupAaaaAsync(string name, DnsNameSyntax syntax, CancellationToken cancellationToken = default) =>
        LookupAsync(DnsName.Normalize(name, syntax), QueryType.AAAA,
            answers => answers.AaaaRecords().Select(r => r.Address).ToList(), cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DnsResult<MxRecord>> LookupMxAsync(string domain, DnsNameSyntax syntax, CancellationToken cancellationToken = default) =>
        LookupAsync(DnsName.Normalize(domain, syntax), QueryType.MX,
            answers => answers.MxRecords()
                .Select(r => new MxRecord(r.Preference, DnsName.FromAnswer(r.Exchange.Value)))
                .OrderBy(r => r.Preference).ThenBy(r => r.Exchange, StringComparer.Ordinal)
                .ToList(),
            cancellationToken);

    /// <inheritdoc/>
    public ValueTask<DnsResult<TxtRecord>> LookupTxtAsync(string name, DnsNameSyntax syntax, CancellationToken cancellationToken = default) =>
        LookupAsync(DnsName.Normalize(name, syntax), QueryType.TXT,
            answers => answers.TxtRecords().Select(r => new TxtRecord(r.Text.ToList())).ToList(), cancellationToken);

    /// <summary>One lookup through the cache: the part every record type shares (a TLSA lookup adds only its mapper).</summary>
    private async ValueTask<DnsResult<T>> LookupAsync<T>(string name, QueryType type,
        Func<IReadOnlyList<DnsResourceRecord>, List<T>> records, CancellationToken cancellationToken)
    {
        if (cache.TryGet(name, (int)type, out object? hit, out TimeSpan remaining))
            return (DnsResult<T>)hit! with { TimeToLive = remaining, FromCache = true };
        DnsResult<T> result = await QueryAsync(name, type, records, cancellationToken).ConfigureAwait(false);
        if (result.Outcome == DnsOutcome.TemporaryFailure)
            logger.LogInformation("dns {Name} {Type}: temporary failure: {Failure}", name, type, result.Failure);
        else
            logger.LogDebug("dns {Name} {Type}: {Outcome}, ttl {Ttl} s", name, type, result.Outcome, result.TimeToLive.TotalSeconds);
        cache.Set(name, (int)type, result, result.TimeToLive);
        return result;
    }

    private async Task<DnsResult<T>> QueryAsync<T>(string name, QueryType type,
        Func<IReadOnlyList<DnsResourceRecord>, List<T>> records, CancellationToken cancellationToken)
    {
        IDnsQueryResponse response;
        try
        {
            response = await client.QueryAsync(name, type, QueryClass.IN, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (DnsResponseException e) when (e.Code == DnsResponseCode.ConnectionTimeout)
        {
            // DnsClient reports a cancelled wait as a timeout.
            cancellationToken.ThrowIfCancellationRequested();
            return DnsResult<T>.TemporaryFailure(name, string.Create(CultureInfo.InvariantCulture,
                $"no answer from {servers} within {options.Timeout.TotalSeconds:0.###} s ({1 + options.Retries} tries each)"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // RFC 5321 §5.1 and the house rule: an error that is not understood is temporary.
            return DnsResult<T>.TemporaryFailure(name, $"{e.GetType().Name}: {e.Message}");
        }

        switch (response.Header.ResponseCode)
        {
            case DnsHeaderResponseCode.NotExistentDomain:
                return DnsResult<T>.NoSuchDomain(name, NegativeTtl(response));
            case DnsHeaderResponseCode.NoError:
                List<T> found = records(response.Answers);
                if (found.Count == 0) return DnsResult<T>.NoData(name, NegativeTtl(response));
                // RFC 2181 §5.2: "the client should treat the RRs for all purposes as if all TTLs in the RRSet had been
                // set to the value of the lowest TTL in the RRSet." A CNAME on the way counts too.
                int lowest = response.Answers.Min(r => r.InitialTimeToLive);
                return DnsResult<T>.Found(name, found, Cap(lowest, options.MaxTtl));
            default:
                return DnsResult<T>.TemporaryFailure(name, $"{Mnemonic(response.Header.ResponseCode)} from {response.NameServer}");
        }
    }

    /// <summary>RFC 2308 §5: the negative TTL is the lower of the SOA's TTL and its MINIMUM field (§3: "The TTL of this
    /// record is set from the minimum of the MINIMUM field of the SOA record and the TTL of the SOA itself, and indicates
    /// how long a resolver may cache the negative answer."). Without a SOA, zero: "Negative responses without SOA
    /// records SHOULD NOT be cached as there is no way to prevent the negative responses looping forever between a pair
    /// of servers even with a short TTL."</summary>
    private TimeSpan NegativeTtl(IDnsQueryResponse response)
    {
        SoaRecord? soa = response.Authorities.SoaRecords().FirstOrDefault();
        if (soa is null) return TimeSpan.Zero;
        long seconds = Math.Min(soa.InitialTimeToLive, (long)soa.Minimum);
        return Cap(seconds, options.MaxNegativeTtl);
    }

    private static TimeSpan Cap(long seconds, TimeSpan max) =>
        seconds <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(seconds, max.TotalSeconds));

    /// <summary>The RCODE's name as RFC 1035 §4.1.1 and RFC 2136 §2.2 spell it.</summary>
    private static string Mnemonic(DnsHeaderResponseCode code) => code switch
    {
        DnsHeaderResponseCode.FormatError => "FORMERR",
        DnsHeaderResponseCode.ServerFailure => "SERVFAIL",
        DnsHeaderResponseCode.NotImplemented => "NOTIMP",
        DnsHeaderResponseCode.Refused => "REFUSED",
        _ => "RCODE " + ((int)code).ToString(CultureInfo.InvariantCulture),
    };
}
