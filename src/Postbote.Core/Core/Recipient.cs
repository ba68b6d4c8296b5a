namespace Postbote.Core;

/// <summary>
/// One forward-path of an envelope with its DSN parameters (RFC 3461 §4) and its delivery state, which is kept per
/// recipient.
/// </summary>
/// <param name="Address">The forward-path mailbox as the client gave it.</param>
/// <param name="Notify">The <c>NOTIFY=</c> conditions.</param>
/// <param name="OriginalRecipient">The <c>ORCPT=</c> value as received, <c>addr-type;xtext</c> (RFC 3461 §4.2), or
/// <c>null</c>.</param>
/// <param name="Status">The delivery status of this recipient.</param>
public sealed record Recipient(Mailbox Address, DsnNotify Notify = DsnNotify.Default, string? OriginalRecipient = null,
    DeliveryStatus Status = DeliveryStatus.Queued);
