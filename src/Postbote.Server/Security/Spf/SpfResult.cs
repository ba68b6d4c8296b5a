namespace Postbote.Security.Spf;

/// <summary>The results of <c>check_host()</c> (RFC 7208 §2.6), as written in Authentication-Results (RFC 8601 §2.7.2)
/// in lower case.</summary>
public enum SpfResult
{
    /// <summary>No syntactically valid domain, or no SPF record was found (§2.6.1).</summary>
    None,

    /// <summary>The domain owner explicitly states that it is not asserting whether the address is authorized (§2.6.2).</summary>
    Neutral,

    /// <summary>The client is authorized to use the domain in the identity (§2.6.3).</summary>
    Pass,

    /// <summary>The client is not authorized to use the domain in the identity (§2.6.4).</summary>
    Fail,

    /// <summary>The host is probably not authorized, a weak statement (§2.6.5); it never rejects.</summary>
    Softfail,

    /// <summary>A transient (generally DNS) error while checking (§2.6.6).</summary>
    Temperror,

    /// <summary>The domain's published records could not be correctly interpreted (§2.6.7).</summary>
    Permerror,
}
