using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Delivery.Smtp;

public sealed partial class SmtpClientSession
{
    /// <summary>The header fields of the message being sent that go before it (DKIM-Signature, an ARC set); empty
    /// between transactions.</summary>
    private byte[] _signatureFields = [];

    /// <summary>Signs and seals the messages this session sends (<see cref="OutboundSigning"/>), or <c>null</c> to send
    /// them as queued.</summary>
    public OutboundSigning? Signing { get; set; }

    /// <summary>Makes the fields that go before the message as it will be sent (after a 7-bit conversion when there is
    /// one); <c>SIZE=</c> and the data count them.</summary>
    /// <exception cref="SmtpClientException">The message cannot be read (a temporary failure).</exception>
    private async Task<byte[]> SignatureFieldsAsync(DeliveryRequest request, FileStream? converted, CancellationToken cancellationToken)
    {
        if (Signing is null) return [];
        try
        {
            return await Signing.PrefixAsync(request, converted, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SmtpClientException(EnhancedStatusCode.TemporarySystemError, $"cannot read the queued message to sign it: {e.Message}", e);
        }
    }
}
