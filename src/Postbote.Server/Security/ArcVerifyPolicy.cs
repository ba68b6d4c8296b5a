using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Cryptography;
using Postbote.Dns;

namespace Postbote.Security;

/// <summary>
/// The end-of-data policy "ARC verify" (RFC 8617 §5.2): validates the ARC chain of an inbound message with MimeKit's
/// <see cref="ArcVerifier"/>, the keys found through our resolver (<see cref="ResolverKeyLocator"/>), and records
/// <c>arc=pass|fail|none</c> with <c>smtp.remote-ip</c> and the chain's length (its reason) in the transaction's
/// results, for the Authentication-Results writer and for sealing when the message is forwarded. It never refuses a
/// message and adds no header field itself.
/// </summary>
/// <remarks>
/// Skipped (nothing recorded) for authenticated sessions and trusted networks. A message whose header section holds no
/// ARC-Seal field is <c>none</c> without reading its body. A body on disk is parsed in MimeKit's persistent mode and
/// hashed from the file, never loaded whole.
/// </remarks>
public sealed class ArcVerifyPolicy : IInboundPolicy
{
    private readonly ArcVerifier _verifier;
    private readonly ILogger _logger;

    /// <summary>Creates the policy.</summary>
    /// <param name="dns">The resolver for the signers' keys.</param>
    /// <param name="logger">Where each result is logged.</param>
    public ArcVerifyPolicy(IDnsResolver dns, ILogger<ArcVerifyPolicy> logger)
    {
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(logger);
        _verifier = new ArcVerifier(new ResolverKeyLocator(dns));
        _logger = logger;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(message);
        if (session.IsOwnClient) return PolicyDecision.Accept;
        AuthenticationResult result = message.HeaderSectionComplete && !HasArcSeal(message.HeaderSection.Span)
            ? Result(session, "none", null)
            : await VerifyAsync(session, message, cancellationToken).ConfigureAwait(false);
        message.Transaction.Add(result);
        // A message without a chain (most of them) is logged only at debug level.
        _logger.Log(result.Result == "none" ? LogLevel.Debug : LogLevel.Information, "{QueueId}: arc={Result}{Reason}", message.Id, result.Result,
            result.Reason is null ? "" : $" ({result.Reason})");
        return PolicyDecision.Accept;
    }

    private async Task<AuthenticationResult> VerifyAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
    {
        try
        {
            using Stream data = message.OpenRead();
            MimeMessage parsed = await MimeMessage.LoadAsync(data, persistent: data.CanSeek, cancellationToken).ConfigureAwait(false);
            ArcValidationResult r = await _verifier.VerifyAsync(parsed, cancellationToken).ConfigureAwait(false);
            int sets = r.Seals?.Length ?? 0;
            return r.Chain switch
            {
                ArcSignatureValidationResult.Pass => Result(session, "pass", string.Create(CultureInfo.InvariantCulture, $"{sets} ARC set(s)")),
                ArcSignatureValidationResult.None => Result(session, "none", null),
                _ => Result(session, "fail", string.Create(CultureInfo.InvariantCulture, $"{sets} ARC set(s); {Describe(r)}")),
            };
        }
        catch (Exception e) when (e is FormatException or ParseException or IOException or InvalidOperationException)
        {
            return Result(session, "fail", "unreadable ARC fields: " + e.Message);
        }
    }

    /// <summary>What failed, in words: the chain errors MimeKit found.</summary>
    private static string Describe(ArcValidationResult r)
    {
        if (r.ChainErrors != ArcValidationErrors.None) return r.ChainErrors.ToString();
        if (r.MessageSignature?.Signature == ArcSignatureValidationResult.Fail) return "ARC-Message-Signature did not verify";
        return "ARC-Seal did not verify";
    }

    private static AuthenticationResult Result(SessionInfo session, string result, string? reason) =>
        new("arc", result, reason, [new AuthenticationProperty("smtp", "remote-ip", session.Remote.Address.ToString())]);

    /// <summary>Whether a header field named ARC-Seal is in the header section (a line that starts with it, any case).</summary>
    internal static bool HasArcSeal(ReadOnlySpan<byte> section)
    {
        ReadOnlySpan<byte> name = "arc-seal"u8;
        int i = 0;
        while (i < section.Length)
        {
            ReadOnlySpan<byte> line = section[i..];
            if (line.Length > name.Length && Ascii.EqualsIgnoreCase(line[..name.Length], name))
            {
                ReadOnlySpan<byte> rest = line[name.Length..];
                int k = 0;
                while (k < rest.Length && rest[k] is (byte)' ' or (byte)'\t') k++;
                if (k < rest.Length && rest[k] == (byte)':') return true;
            }
            int nl = line.IndexOf((byte)'\n');
            if (nl < 0) break;
            i += nl + 1;
        }
        return false;
    }
}
