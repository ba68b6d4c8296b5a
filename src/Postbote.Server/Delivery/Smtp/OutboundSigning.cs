using System.Text;
using Microsoft.Extensions.Logging;
using MimeKit.IO;
using Postbote.Core;
using Postbote.Dkim;
using Postbote.Queue;

namespace Postbote.Delivery.Smtp;

/// <summary>
/// What goes before a relayed message: its DKIM-Signature fields (<see cref="DkimMessageSigner"/>, for mail whose From:
/// domain is one of ours) and, for mail Postbote forwards, an ARC set (<see cref="ArcSealer"/>). Both are computed over
/// the octets exactly as they are sent (after a 7-bit conversion when one happens), reading the message forward in
/// 64 KiB blocks, never whole.
/// </summary>
/// <remarks>
/// A transaction is forwarded when one of its recipients is not an envelope recipient (an alias of a local domain
/// expanded to an address in another domain). The seal key: <see cref="ArcSealKey"/> when set, else the first RSA
/// <c>[[dkim.sign]]</c> key of the first envelope recipient's domain that has one (the forwarding domain; ARC signs with
/// rsa-sha256 only); without a key nothing is sealed.
/// </remarks>
public sealed class OutboundSigning
{
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>Creates the signing step.</summary>
    /// <param name="dkim">The DKIM signer with the <c>[[dkim.sign]]</c> keys.</param>
    /// <param name="sealer">The ARC sealer, or <c>null</c> when forwarded mail is not sealed (<c>[arc] seal = false</c>).</param>
    /// <param name="logger">Where a message that could not be sealed is logged.</param>
    /// <param name="time">The clock for <c>t=</c>; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    public OutboundSigning(DkimMessageSigner dkim, ArcSealer? sealer, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(dkim);
        ArgumentNullException.ThrowIfNull(logger);
        Dkim = dkim;
        Sealer = sealer;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The DKIM signer.</summary>
    public DkimMessageSigner Dkim { get; }

    /// <summary>The ARC sealer, or <c>null</c>.</summary>
    public ArcSealer? Sealer { get; }

    /// <summary>The key forwarded mail is sealed with (<c>[arc] seal_domain</c>, <c>selector</c>, <c>key</c>), or
    /// <c>null</c> for the forwarding domain's first <c>[[dkim.sign]]</c> key. Replaced as a whole on reload.</summary>
    public DkimSigningKey? ArcSealKey { get; set; }

    /// <summary>Makes the header fields that go before the message.</summary>
    /// <param name="request">The message and the recipients of this transaction.</param>
    /// <param name="converted">The 7-bit converted message (which already holds the added header fields), or <c>null</c>
    /// to send the queued message as it is.</param>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>The fields as octets (ARC set first, then the DKIM signatures), empty for none.</returns>
    /// <exception cref="IOException">The message cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The body file may not be read.</exception>
    public async Task<byte[]> PrefixAsync(DeliveryRequest request, FileStream? converted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string signatures;
        using (Stream message = Open(request, converted, []))
        {
            signatures = await Dkim.SignAsync(message, cancellationToken).ConfigureAwait(false);
        }
        string seal = "";
        if (Sealer is not null && IsForwarded(request) && SealKey(request) is { } key)
        {
            try
            {
                using Stream message = Open(request, converted, Encoding.UTF8.GetBytes(signatures));
                seal = await Sealer.SealAsync(message, key, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or MimeKit.ParseException
                                          or NotSupportedException or System.Security.Cryptography.CryptographicException)
            {
                _logger.LogWarning("{QueueId}: not sealed with ARC: {Reason}", request.Envelope.Id, e.Message);
            }
        }
        return signatures.Length + seal.Length == 0 ? [] : Encoding.UTF8.GetBytes(seal + signatures);
    }

    /// <summary>Whether a recipient of the transaction is not an envelope recipient: an alias target, forwarded.</summary>
    internal static bool IsForwarded(DeliveryRequest request)
    {
        foreach (Recipient r in request.Recipients)
        {
            string address = r.Address.ToString();
            if (!request.Envelope.Recipients.Any(e => string.Equals(e.Address.ToString(), address, StringComparison.OrdinalIgnoreCase)))
                return true;
        }
        return false;
    }

    private DkimSigningKey? SealKey(DeliveryRequest request)
    {
        if (ArcSealKey is { } configured) return configured;
        foreach (Recipient r in request.Envelope.Recipients)
        {
            // RFC 8617 §4.1.3 leaves ARC to rsa-sha256 for now (verifiers such as dkimpy know no other): an Ed25519 key
            // does not seal.
            if (Dkim.Keys.For(r.Address.Domain).FirstOrDefault(k => k.Algorithm == DkimAlgorithm.RsaSha256) is { } key) return key;
        }
        return null;
    }

    /// <summary>The message as it will be sent after <paramref name="prefix"/>: the converted file, or the added header
    /// fields and the stored octets; seekable, read from the start, the files left open for the session.</summary>
    private static Stream Open(DeliveryRequest request, FileStream? converted, byte[] prefix)
    {
        var chain = new ChainedStream();
        if (prefix.Length > 0) chain.Add(new MemoryStream(prefix, writable: false));
        if (converted is not null)
        {
            chain.Add(new BoundStream(converted, 0, converted.Length, leaveOpen: true));
            return chain;
        }
        byte[] added = request.GetAddedHeaderBytes();
        if (added.Length > 0) chain.Add(new MemoryStream(added, writable: false));
        var body = new FileStream(request.BodyPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
        long size = request.Envelope.Size;
        chain.Add(new BoundStream(body, request.BodyOffset, request.BodyOffset + size, leaveOpen: false));
        return chain;
    }
}
