using System.Text;
using MimeKit;
using MimeKit.Cryptography;

namespace Postbote.Dkim;

/// <summary>
/// Seals a message Postbote forwards with an ARC set (RFC 8617 §5.1), through MimeKit's <see cref="ArcSigner"/>:
/// ARC-Authentication-Results (a copy of our Authentication-Results), ARC-Message-Signature (relaxed/relaxed over the
/// header fields <see cref="DkimMessageSigner"/> signs and the body) and ARC-Seal with <c>cv=</c> from our ARC
/// verification (RFC 8617 §4.1.3), signed with one of our DKIM keys.
/// </summary>
/// <remarks>
/// The message is parsed from a seekable stream with MimeKit's persistent mode, so a body stays in its file and is
/// hashed from there, never loaded whole. Only the three new header fields are taken from MimeKit; the octets sent are
/// those fields followed by the message unchanged.
/// </remarks>
public sealed class ArcSealer
{
    private readonly string _authServId;

    /// <summary>Creates the sealer.</summary>
    /// <param name="authServId">Our authserv-id (the <c>hostname</c> setting): the Authentication-Results field with it
    /// is the one copied into ARC-Authentication-Results.</param>
    public ArcSealer(string authServId)
    {
        ArgumentException.ThrowIfNullOrEmpty(authServId);
        _authServId = authServId;
    }

    /// <summary>Makes the ARC set for a message.</summary>
    /// <param name="message">The message as it will be sent, seekable; read from its start.</param>
    /// <param name="key">The key to seal with (<c>d=</c> and <c>s=</c> of both signatures).</param>
    /// <param name="time">The clock for <c>t=</c>.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results, each ending in CRLF, in the order they
    /// go before the message; empty when the message cannot be sealed: it has no From: field, or its chain already
    /// failed (a chain with <c>cv=fail</c> is not extended, RFC 8617 §5.1.2), or it has a chain and our
    /// Authentication-Results hold no <c>arc=</c> result to take <c>cv=</c> from.</returns>
    /// <exception cref="IOException">The message cannot be read.</exception>
    /// <exception cref="FormatException">The message's ARC fields are malformed (no valid instance tag).</exception>
    public async Task<string> SealAsync(Stream message, DkimSigningKey key, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(time);
        MimeMessage parsed = await MimeMessage.LoadAsync(message, persistent: true, cancellationToken).ConfigureAwait(false);
        var headers = DkimMessageSigner.SignedFields.Where(n => parsed.Headers.Contains(n))
            .Concat(parsed.Headers.Select(h => h.Field).Where(f => f.StartsWith("List-", StringComparison.OrdinalIgnoreCase)))
            .Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (!headers.Contains("From", StringComparer.OrdinalIgnoreCase)) return "";
        // The cv= of a chain we extend is our verification's result (RFC 8617 §5.1.1: "The value of the "cv" tag is
        // determined by the results of the validation"); a chain that reached us without our "arc=" result is not
        // extended rather than claimed.
        if (parsed.Headers.Contains(HeaderId.ArcSeal)
            && OurResults(parsed, _authServId)?.Results.Any(r => r.Method.Equals("arc", StringComparison.OrdinalIgnoreCase)) != true)
        {
            return "";
        }
        int before = parsed.Headers.Count;
        var signer = new Signer(key, _authServId, time)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        await signer.SignAsync(options, parsed, headers, cancellationToken).ConfigureAwait(false);
        int added = parsed.Headers.Count - before;
        var text = new StringBuilder();
        for (int i = 0; i < added; i++)
        {
            Header h = parsed.Headers[i];
            string raw = Encoding.UTF8.GetString(h.RawValue).ReplaceLineEndings("\r\n");
            if (!raw.EndsWith("\r\n", StringComparison.Ordinal)) raw += "\r\n";
            text.Append(h.Field).Append(':').Append(raw);
        }
        return text.ToString();
    }

    /// <summary>Our Authentication-Results (the field with our authserv-id; the top one when several) as
    /// MimeKit parses it, or <c>null</c>.</summary>
    internal static AuthenticationResults? OurResults(MimeMessage message, string authServId)
    {
        foreach (Header h in message.Headers)
        {
            if (h.Id != HeaderId.AuthenticationResults) continue;
            if (AuthenticationResults.TryParse(h.RawValue, out AuthenticationResults? results)
                && string.Equals(results.AuthenticationServiceIdentifier, authServId, StringComparison.OrdinalIgnoreCase))
            {
                return results;
            }
        }
        return null;
    }

    /// <summary>MimeKit's signer with our key, clock and results.</summary>
    private sealed class Signer(DkimSigningKey key, string authServId, TimeProvider time)
        : ArcSigner(key.PrivateKey, key.Domain, key.Selector,
            key.Algorithm == DkimAlgorithm.RsaSha256 ? DkimSignatureAlgorithm.RsaSha256 : DkimSignatureAlgorithm.Ed25519Sha256)
    {
        /// <summary>RFC 8617 §4.1.1: "The AAR header field ... is a copy of the Authentication-Results header field
        /// [RFC8601] that was created by this ADMD"; without one, a result set that says none.</summary>
        protected override AuthenticationResults GenerateArcAuthenticationResults(FormatOptions options, MimeMessage message, CancellationToken cancellationToken)
        {
            AuthenticationResults? ours = OurResults(message, authServId);
            if (ours is not null) return ours;
            return new AuthenticationResults(authServId);
        }

        protected override Task<AuthenticationResults> GenerateArcAuthenticationResultsAsync(FormatOptions options, MimeMessage message, CancellationToken cancellationToken) =>
            Task.FromResult(GenerateArcAuthenticationResults(options, message, cancellationToken));

        protected override long GetTimestamp() => time.GetUtcNow().ToUnixTimeSeconds();
    }
}
