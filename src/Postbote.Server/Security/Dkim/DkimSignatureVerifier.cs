using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Postbote.Dkim;

namespace Postbote.Security.Dkim;

/// <summary>
/// Verifies the DKIM signatures of a message (RFC 6376 §6.1) in one forward pass over its octets: the header section is
/// kept, the body goes through one body hash per signature (simple or relaxed, §3.4.3–3.4.4, up to <c>l=</c>) in
/// 64 KiB blocks and is never held. The signed header data (§3.7) is built from the header fields as received; RSA
/// signatures are checked by .NET's <see cref="RSA"/> (OpenSSL) and Ed25519 ones (RFC 8463) by BouncyCastle.
/// </summary>
/// <remarks>
/// MimeKit's verifier computes the same result, but it runs RSA in BouncyCastle's managed big integers: about 240 µs of
/// CPU per 2048-bit signature on the benchmark machine, against 16 µs in OpenSSL, which made DKIM alone cost most of
/// the receiving throughput. The tests check both verifiers agree on the same signed messages.
/// </remarks>
public sealed class DkimSignatureVerifier
{
    /// <summary>The most signatures verified per message (RFC 6376 §6.1: "Verifiers MAY limit the number of signatures
    /// they attempt to verify"); later ones are not looked at.</summary>
    public const int MaxSignatures = 5;

    /// <summary>The longest header section read: 1 MiB. A longer one gives one permerror result.</summary>
    public const int MaxHeaderSection = 1024 * 1024;

    private readonly DnsDkimPublicKeyLocator _keys;
    private readonly TimeProvider _time;

    /// <summary>Creates the verifier.</summary>
    /// <param name="keys">Where keys come from.</param>
    /// <param name="time">The clock for <c>x=</c>; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="keys"/> is <c>null</c>.</exception>
    public DkimSignatureVerifier(DnsDkimPublicKeyLocator keys, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Verifies every DKIM-Signature field of a message, the first <see cref="MaxSignatures"/> from the top.</summary>
    /// <param name="message">The message from its first octet, read forward once.</param>
    /// <param name="cancellationToken">Stops the reading and the key lookups.</param>
    /// <returns>One result per signature field, in order; empty when the message is not signed.</returns>
    /// <exception cref="IOException">The message cannot be read.</exception>
    public async Task<IReadOnlyList<DkimResult>> VerifyAsync(Stream message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            if (await MessageHead.ReadAsync(message, buffer, MaxHeaderSection, cancellationToken).ConfigureAwait(false) is not { } head)
                return [new DkimResult("permerror", "header section longer than 1 MiB", "", "", "", "")];
            List<HeaderField> fields = HeaderField.Split(head.Section);
            var checks = new List<Check>();
            DateTimeOffset now = _time.GetUtcNow();
            foreach (HeaderField f in fields)
            {
                if (!f.Name.Equals("DKIM-Signature", StringComparison.OrdinalIgnoreCase)) continue;
                if (checks.Count == MaxSignatures) break;
                checks.Add(new Check(f, DkimSignatureField.Read(f.Value, now)));
            }
            if (checks.Count == 0) return [];

            // The keys first (§6.1.2), then the body for all signatures at once (§6.1.3).
            foreach (Check c in checks.Where(c => c.Error is null)) await LocateKeyAsync(c, cancellationToken).ConfigureAwait(false);
            var hashes = checks.Where(c => c.Error is null).ToList();
            foreach (Check c in hashes) c.Body = DkimBodyHash.Create(c.Field.RelaxedBody, c.Field.Length);
            try
            {
                if (hashes.Count > 0)
                {
                    foreach (Check c in hashes) c.Body!.Append(buffer.AsSpan(head.BodyStart, head.BodyLength));
                    int n;
                    while (head.Complete && (n = await message.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                        foreach (Check c in hashes) c.Body!.Append(buffer.AsSpan(0, n));
                }
                foreach (Check c in hashes) Finish(c, fields);
            }
            finally
            {
                foreach (Check c in hashes) c.Body!.Dispose();
            }
            return checks.Select(c => c.ToResult()).ToList();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task LocateKeyAsync(Check c, CancellationToken cancellationToken)
    {
        DkimSignatureField f = c.Field;
        try
        {
            c.Key = await _keys.LocateKeyAsync(f.Domain, f.Selector, cancellationToken).ConfigureAwait(false);
        }
        catch (DkimKeyException e)
        {
            c.Fail(e.Temporary ? "temperror" : "permerror", e.Message);
            return;
        }
        // §6.1.2: "If the "h=" tag exists in the public-key record and the hash algorithm implied by the "a=" tag in the
        // DKIM-Signature header field is not included in the contents of the "h=" tag, the Verifier MUST ignore the key
        // record and return PERMFAIL (inappropriate hash algorithm)." ... "(inappropriate key algorithm)".
        if (c.Key.HashAlgorithms.Count > 0 && !c.Key.HashAlgorithms.Contains("sha256")) c.Fail("permerror", "inappropriate hash algorithm");
        else if (c.Key.KeyType != f.KeyType) c.Fail("permerror", "inappropriate key algorithm");
        else if (c.Key.Strict && !f.Identity.EndsWith("@" + f.Domain, StringComparison.OrdinalIgnoreCase))
            c.Fail("permerror", "domain mismatch (the key's t=s forbids a subdomain in i=)");
    }

    private static void Finish(Check c, List<HeaderField> fields)
    {
        DkimSignatureField f = c.Field;
        byte[] bh = c.Body!.Complete();
        // §6.1.3: "If the hash does not match, the Verifier MUST ignore the signature and return PERMFAIL (body hash did
        // not verify)." A body shorter than l= cannot have been the one signed.
        if (f.Length >= 0 && c.Body.CanonicalLength < f.Length) c.Fail("fail", "l= is longer than the body");
        else if (!bh.AsSpan().SequenceEqual(f.BodyHash)) c.Fail("fail", "body hash did not verify");
        else if (!c.Key!.Verify(SHA256.HashData(CollectionsMarshal.AsSpan(SignedData(fields, c.Raw, f))), f.Signature)) c.Fail("fail", "signature did not verify");
    }

    /// <summary>The data a signature covers (RFC 6376 §3.7): the fields of <c>h=</c> (<see cref="HeaderField.AppendSigned"/>),
    /// then the signature field itself with the value of <c>b=</c> removed, canonicalized, without a final CRLF.</summary>
    internal static List<byte> SignedData(List<HeaderField> fields, HeaderField signature, DkimSignatureField f)
    {
        var data = new List<byte>(1024);
        HeaderField.AppendSigned(fields, f.SignedNames, f.RelaxedHeader, data);
        HeaderField.Canonical(WithoutSignatureValue(signature.Raw.Span), f.RelaxedHeader, data);
        return data;
    }

    /// <summary>The signature field with its <c>b=</c> value removed (§3.7: "the value of the "b=" tag (including all
    /// surrounding whitespace) MUST be deleted (i.e., treated as the empty string)"); everything else is kept as
    /// written.</summary>
    internal static byte[] WithoutSignatureValue(ReadOnlySpan<byte> raw)
    {
        int colon = raw.IndexOf((byte)':');
        int at = colon + 1;
        while (at <= raw.Length)
        {
            int semi = raw[at..].IndexOf((byte)';');
            int end = semi < 0 ? raw.Length : at + semi;
            int eq = raw[at..end].IndexOf((byte)'=');
            if (eq >= 0 && raw[at..(at + eq)].Trim(" \t\r\n"u8).SequenceEqual("b"u8))
            {
                int value = at + eq + 1;
                var result = new byte[raw.Length - (end - value)];
                raw[..value].CopyTo(result);
                raw[end..].CopyTo(result.AsSpan(value));
                return result;
            }
            at = end + 1;
        }
        return raw.ToArray();
    }

    /// <summary>One signature on its way through the checks.</summary>
    private sealed class Check(HeaderField raw, DkimSignatureField field)
    {
        public HeaderField Raw { get; } = raw;
        public DkimSignatureField Field { get; } = field;
        public string? Error { get; private set; } = field.Error;
        public string Result { get; private set; } = field.Error is null ? "pass" : "permerror";
        public DkimPublicKey? Key { get; set; }
        public DkimBodyHash? Body { get; set; }

        public void Fail(string result, string reason)
        {
            Result = result;
            Error = reason;
        }

        public DkimResult ToResult() => new(Result, Error, Field.Domain, Field.Selector, Field.Identity, Field.SignaturePrefix);
    }
}
