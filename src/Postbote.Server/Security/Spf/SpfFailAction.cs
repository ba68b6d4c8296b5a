namespace Postbote.Security.Spf;

/// <summary>What an SPF result does to the MAIL command (<c>[spf] fail_action</c>, <c>[spf] temperror_action</c>).</summary>
public enum SpfFailAction
{
    /// <summary>Refuse: <c>550 5.7.23</c> for fail (RFC 7372 §3.2), <c>451 4.7.24</c> for temperror (§3.3).</summary>
    Reject,

    /// <summary>Only record the result in Authentication-Results; the message is accepted.</summary>
    Record,
}
