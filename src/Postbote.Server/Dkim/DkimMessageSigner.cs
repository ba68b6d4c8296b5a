using System.Buffers;
using System.Globalization;
using System.Text;
using MimeKit;

namespace Postbote.Dkim;

/// <summary>
/// Signs outbound messages (RFC 6376 §5) whose From: domain is a signing domain of the <see cref="Keys"/>: one
/// DKIM-Signature per key of that domain (RSA-SHA256 and Ed25519-SHA256, RFC 8463), relaxed/relaxed, over the octets
/// exactly as they will be sent. The message is read once, forward only: the header section (at most
/// <see cref="MaxHeaderSection"/>) is kept, the body goes through the body hash in 64 KiB blocks and is never held.
/// </summary>
/// <remarks>
/// Signed header fields (<see cref="SignedFields"/>): each present instance, and From, To and Subject once more than
/// present (oversigned, RFC 6376 §8.15: a verifier then fails a message to which another instance was added). Tags:
/// <c>v a c d s t h bh b</c>; no <c>l=</c> (the whole body is signed) and no <c>x=</c>.
/// </remarks>
public sealed class DkimMessageSigner
{
    /// <summary>The most octets of a header section read: 1 MiB. A longer header section is not signed.</summary>
    public const int MaxHeaderSection = 1024 * 1024;

    /// <summary>The header fields signed when present, in <c>h=</c> order; every <c>List-*</c> field (RFC 2369, 2919,
    /// 8058) is signed too.</summary>
    public static IReadOnlyList<string> SignedFields { get; } =
    [
        "From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "In-Reply-To", "References", "MIME-Version",
        "Content-Type", "Content-Transfer-Encoding",
    ];

    /// <summary>The fields signed once more than they occur.</summary>
    public static IReadOnlyList<string> OversignedFields { get; } = ["From", "To", "Subject"];

    private readonly TimeProvider _time;
    private volatile DkimKeyRing _keys;

    /// <summary>Creates the signer.</summary>
    /// <param name="keys">The signing keys.</param>
    /// <param name="time">The clock for <c>t=</c>; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    public DkimMessageSigner(DkimKeyRing keys, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The signing keys; replaced as a whole on reload.</summary>
    public DkimKeyRing Keys
    {
        get => _keys;
        set => _keys = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Makes the DKIM-Signature fields of a message.</summary>
    /// <param name="message">The message as it will be sent (header section, empty line, body), read forward once; it
    /// need not seek. Without a From: domain that has keys, only the header section is read.</param>
    /// <param name="cancellationToken">Stops the reading.</param>
    /// <returns>The signature fields, each ending in CRLF, to be put before the message; empty when the message is not
    /// signed (no key for its From: domain, not exactly one From: address, a header section over
    /// <see cref="MaxHeaderSection"/>).</returns>
    /// <exception cref="IOException">The message cannot be read.</exception>
    public async Task<string> SignAsync(Stream message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        DkimKeyRing ring = _keys;
        if (ring.Keys.Count == 0) return "";
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            if (await MessageHead.ReadAsync(message, buffer, MaxHeaderSection, cancellationToken).ConfigureAwait(false) is not { } head) return "";
            ReadOnlyMemory<byte> section = head.Section;
            List<HeaderField> fields = HeaderField.Split(section);
            if (FromDomain(fields) is not { } domain) return "";
            IReadOnlyList<DkimSigningKey> keys = ring.For(domain);
            if (keys.Count == 0) return "";

            using var body = new RelaxedBodyHash();
            body.Append(buffer.AsSpan(head.BodyStart, head.BodyLength));
            if (head.Complete)
            {
                int n;
                while ((n = await message.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0) body.Append(buffer.AsSpan(0, n));
            }
            string bh = Convert.ToBase64String(body.Complete());
            List<string> names = SignedNames(fields);
            long t = _time.GetUtcNow().ToUnixTimeSeconds();
            var result = new StringBuilder();
            foreach (DkimSigningKey key in keys) result.Append(Signature(key, fields, names, bh, t));
            return result.ToString();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The domain of the one address in the one From: field (RFC 5322 §3.6.2), or <c>null</c>.</summary>
    internal static string? FromDomain(List<HeaderField> fields)
    {
        string? value = null;
        foreach (HeaderField f in fields)
        {
            if (!f.Name.Equals("From", StringComparison.OrdinalIgnoreCase)) continue;
            if (value is not null) return null;
            value = f.Value;
        }
        if (value is null || !InternetAddressList.TryParse(value, out InternetAddressList? list)) return null;
        var mailboxes = list.Mailboxes.ToList();
        if (mailboxes.Count != 1 || string.IsNullOrEmpty(mailboxes[0].Domain)) return null;
        return mailboxes[0].Domain.TrimEnd('.').ToLowerInvariant();
    }

    /// <summary>The <c>h=</c> list: each signed field as often as it occurs, the oversigned ones once more.</summary>
    internal static List<string> SignedNames(List<HeaderField> fields)
    {
        var names = new List<string>();
        var listFields = new List<string>();
        foreach (HeaderField f in fields)
        {
            if (f.Name.StartsWith("List-", StringComparison.OrdinalIgnoreCase)
                && !listFields.Contains(f.Name, StringComparer.OrdinalIgnoreCase)
                && f.Name.All(static c => c > ' ' && c < 127))
            {
                listFields.Add(f.Name);
            }
        }
        foreach (string name in SignedFields.Concat(listFields))
        {
            int count = fields.Count(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (OversignedFields.Contains(name)) count++;
            for (int i = 0; i < count; i++) names.Add(name.ToLowerInvariant());
        }
        return names;
    }

    /// <summary>The data a signature covers (RFC 6376 §3.7): the fields of <c>h=</c> (<see cref="HeaderField.AppendSigned"/>,
    /// relaxed), then the signature field itself with an empty <c>b=</c> and no final CRLF.</summary>
    internal static List<byte> SignedData(List<HeaderField> fields, List<string> names, string signatureWithoutB)
    {
        var data = new List<byte>(4096);
        HeaderField.AppendSigned(fields, names, relaxed: true, data);
        HeaderField.Relaxed(Encoding.UTF8.GetBytes(signatureWithoutB), data);
        return data;
    }

    private static string Signature(DkimSigningKey key, List<HeaderField> fields, List<string> names, string bh, long t)
    {
        string unsigned = string.Create(CultureInfo.InvariantCulture,
            $"DKIM-Signature: v=1; a={key.AlgorithmName}; c=relaxed/relaxed; d={key.Domain}; s={key.Selector};\r\n\tt={t}; h={string.Join(':', names)};\r\n\tbh={bh};\r\n\tb=");
        List<byte> data = SignedData(fields, names, unsigned);
        string b = Convert.ToBase64String(key.Sign(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(data)));
        var folded = new StringBuilder(unsigned);
        for (int i = 0; i < b.Length; i += 72)
        {
            folded.Append("\r\n\t ");
            folded.Append(b, i, Math.Min(72, b.Length - i));
        }
        folded.Append("\r\n");
        return folded.ToString();
    }
}
