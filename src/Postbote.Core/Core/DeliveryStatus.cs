namespace Postbote.Core;

/// <summary>The delivery state of one recipient of a queued message.</summary>
public enum DeliveryStatus
{
    /// <summary>Not yet delivered; a delivery attempt is due or scheduled.</summary>
    Queued,
    /// <summary>Delivered to its final destination (Maildir or next hop).</summary>
    Delivered,
    /// <summary>The last attempt failed temporarily; it will be retried.</summary>
    Deferred,
    /// <summary>Failed permanently; not retried.</summary>
    Failed,
    /// <summary>Put on hold by the administrator (<c>postbote queue hold</c>): not attempted until released, and its
    /// lifetime keeps running.</summary>
    Held,
}
