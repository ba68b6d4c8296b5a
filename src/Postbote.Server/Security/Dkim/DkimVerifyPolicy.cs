using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Cryptography;

namespace Postbote.Security.Dkim;

/// <summary>
/// Verifies every DKIM signature of an inbound message at the end of data (RFC 6376 §6), at most
/// <see cref="MaxSignatures"/>, with MimeKit's verifier and keys found through Postbote's resolver, and records each as
/// <c>dkim=pass|fail|temperror|permerror header.d=… header.s=… header.i=… header.b=…</c> (RFC 8601 §2.7.1, RFC 6008
/// for header.b), or <c>dkim=none</c> when the message is not signed. It never refuses: DMARC decides. The message is
/// read from the stored data (memory or the body file) with MimeKit's persistent parsing, so a large body is not loaded.
/// Authenticated sessions and trusted networks are not checked.
/// </summary>
public sealed class DkimVerifyPolicy : IInboundPolicy
{
    /// <summary>The most signatures verified per message (RFC 6376 §6.1: "Verifiers MAY limit the number of signatures
    /// they attempt to verify"); later ones are not looked at.</summary>
    public const int MaxSignatures = 5;

    private readonly DkimVerifier _verifier;
    private readonly ILogger _log;

    /// <summary>Creates the policy.</summary>
    /// <param name="locator">Where keys come from.</param>
    /// <param name="log">Where results are logged.</param>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    public DkimVerifyPolicy(IDkimPublicKeyLocator locator, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(locator);
        ArgumentNullException.ThrowIfNull(log);
        _verifier = new DkimVerifier(locator);
        _log = log;
    }

    /// <inheritdoc />
    public async ValueTask<PolicyDecision> CheckDataAsync(SessionInfo session, InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(message);
        if (session.IsOwnClient) return PolicyDecision.Accept;
        // Cheap test first: no DKIM-Signature in the header section, nothing to parse.
        if (!HasSignature(message.HeaderSection.Span))
        {
            message.Transaction.Add(new AuthenticationResult("dkim", "none"));
            return PolicyDecision.Accept;
        }
        Stream stream = message.OpenRead();
        await using (stream.ConfigureAwait(false))
        {
            MimeMessage parsed;
            try
            {
                parsed = await MimeMessage.LoadAsync(ParserOptions.Default, stream, persistent: stream.CanSeek, cancellationToken).ConfigureAwait(false);
            }
            catch (FormatException e)
            {
                message.Transaction.Add(new AuthenticationResult("dkim", "permerror", "message does not parse: " + e.Message));
                return PolicyDecision.Accept;
            }
            using (parsed)
            {
                var signatures = parsed.Headers.Where(h => h.Id == HeaderId.DkimSignature).Take(MaxSignatures).ToList();
                if (signatures.Count == 0) message.Transaction.Add(new AuthenticationResult("dkim", "none"));
                foreach (Header signature in signatures)
                    message.Transaction.Add(await VerifyAsync(parsed, signature, cancellationToken).ConfigureAwait(false));
            }
        }
        return PolicyDecision.Accept;
    }

    private async Task<AuthenticationResult> VerifyAsync(MimeMessage message, Header signature, CancellationToken cancellationToken)
    {
        Dictionary<string, string> tags = Tags(signature.Value);
        string d = tags.GetValueOrDefault("d", ""), s = tags.GetValueOrDefault("s", "");
        string b = new(tags.GetValueOrDefault("b", "").Where(c => !char.IsWhiteSpace(c)).Take(8).ToArray());
        var properties = new List<AuthenticationProperty>();
        if (d.Length > 0) properties.Add(new("header", "d", d));
        if (s.Length > 0) properties.Add(new("header", "s", s));
        properties.Add(new("header", "i", tags.GetValueOrDefault("i", "@" + d)));
        if (b.Length > 0) properties.Add(new("header", "b", b));
        string result;
        string? reason = null;
        try
        {
            result = await _verifier.VerifyAsync(message, signature, cancellationToken).ConfigureAwait(false) ? "pass" : "fail";
            if (result == "fail") reason = "signature did not verify";
        }
        catch (DkimKeyException e)
        {
            result = e.Temporary ? "temperror" : "permerror";
            reason = e.Message;
        }
        catch (Exception e) when (e is FormatException or ParseException or ArgumentException or NotSupportedException
            or Org.BouncyCastle.Crypto.CryptoException or InvalidOperationException)
        {
            // RFC 6376 §6.1.1: a signature that is not well formed is PERMFAIL; so is a key record that does not parse.
            result = "permerror";
            reason = e.Message;
        }
        _log.LogInformation("dkim={Result} d={Domain} s={Selector}: {Reason}", result, d, s, reason);
        return new AuthenticationResult("dkim", result, reason, properties);
    }

    /// <summary>The tags of a DKIM-Signature value (RFC 6376 §3.2 tag-list), white space removed around names.</summary>
    private static Dictionary<string, string> Tags(string value)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in value.Split(';'))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            string name = part[..eq].Trim();
            tags.TryAdd(name, string.Concat(part[(eq + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));
        }
        return tags;
    }

    /// <summary>Whether the header section has a field named DKIM-Signature at the start of a line.</summary>
    private static bool HasSignature(ReadOnlySpan<byte> section)
    {
        if (section.IsEmpty) return true; // not captured: parse to be sure
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
