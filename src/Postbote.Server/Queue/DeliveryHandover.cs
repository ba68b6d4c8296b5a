namespace Postbote.Queue;

/// <summary>
/// Where a delivered recipient went, which decides the DSN "Action" of a success notice (RFC 3464 §2.3.3: "delivered",
/// "relayed") and whether Postbote sends one at all (RFC 3461 §4.1: a relaying MTA passes the DSN request on when the
/// next hop supports DSN, and sends a "relayed" notice itself when it does not).
/// </summary>
public enum DeliveryHandover
{
    /// <summary>Delivered to its final destination (a Maildir, or an LMTP server, which is final, RFC 2033 §4.2).</summary>
    Final,
    /// <summary>Accepted by a next hop that does not offer DSN: Postbote's success notice says "relayed".</summary>
    Relayed,
    /// <summary>Accepted by a next hop that offers DSN, with NOTIFY, ORCPT, RET and ENVID passed on: the next hop reports
    /// success, Postbote does not.</summary>
    RelayedWithDsn,
}
