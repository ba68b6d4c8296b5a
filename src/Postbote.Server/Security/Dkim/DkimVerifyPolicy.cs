using Microsoft.Extensions.Logging;

namespace Postbote.Security.Dkim;

/// <summary>
/// Verifies every DKIM signature of an inbound message at the end of data (RFC 6376 §6), at most
/// <see cref="DkimSignatureVerifier.MaxSignatures"/>, with keys found through Postbote's resolver, and records each as
/// <c>dkim=pass|fail|temperror|permerror header.d=… header.s=… header.i=… header.b=…</c> (RFC 8601 §2.7.1, RFC 6008
/// for header.b), or <c>dkim=none</c> when the message is not signed. It never refuses: DMARC decides. The message is
/// read from the stored data (memory or the body file) forward once, so a large body is not loaded. Authenticated
/// sessions and trusted networks are not checked.
/// </summary>
public sealed class DkimVerifyPolicy : IInboundPolicy
{
    private readonly DkimSignatureVerifier _verifier;
    private readonly ILogger _log;

    /// <summary>Creates the policy.</summary>
    /// <param name="verifier">The verifier.</param>
    /// <param name="log">Where results are logged.</param>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    public DkimVerifyPolicy(DkimSignatureVerifier verifier, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(log);
        _verifier = verifier;
        _log = log;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(message);
        if (session.IsOwnClient) return PolicyDecision.Accept;
        // Cheap test first: no DKIM-Signature in the header section, nothing to read.
        if (message.HeaderSectionComplete && !HasSignature(message.HeaderSection.Span))
        {
            message.Transaction.Add(new AuthenticationResult("dkim", "none"));
            return PolicyDecision.Accept;
        }
        IReadOnlyList<DkimResult> results;
        Stream stream = message.OpenRead();
        await using (stream.ConfigureAwait(false))
            results = await _verifier.VerifyAsync(stream, cancellationToken).ConfigureAwait(false);
        if (results.Count == 0) message.Transaction.Add(new AuthenticationResult("dkim", "none"));
        foreach (DkimResult r in results)
        {
            var properties = new List<AuthenticationProperty>();
            if (r.Domain.Length > 0) properties.Add(new("header", "d", r.Domain));
            if (r.Selector.Length > 0) properties.Add(new("header", "s", r.Selector));
            if (r.Identity.Length > 1) properties.Add(new("header", "i", r.Identity));
            if (r.SignaturePrefix.Length > 0) properties.Add(new("header", "b", r.SignaturePrefix));
            message.Transaction.Add(new AuthenticationResult("dkim", r.Result, r.Reason, properties));
            if (r.Result != "pass") _log.LogInformation("dkim={Result} d={Domain} s={Selector}: {Reason}", r.Result, r.Domain, r.Selector, r.Reason);
        }
        return PolicyDecision.Accept;
    }

    /// <summary>Whether the header section has a field named DKIM-Signature at the start of a line.</summary>
    private static bool HasSignature(ReadOnlySpan<byte> section)
    {
        for (int at = 0; at < section.Length;)
        {
            if (section[at..].Length >= 15 && System.Text.Ascii.EqualsIgnoreCase(section.Slice(at, 15), "DKIM-Signature:"u8)) return true;
            int nl = section[at..].IndexOf((byte)'\n');
            if (nl < 0) break;
            at += nl + 1;
        }
        return false;
    }
}
