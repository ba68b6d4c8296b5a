namespace Postbote.Security;

/// <summary>What a policy stage decided.</summary>
public enum PolicyVerdict
{
    /// <summary>Go on.</summary>
    Accept,
    /// <summary>Refuse permanently with the decision's 5xx reply.</summary>
    Reject,
    /// <summary>Refuse temporarily with the decision's 4xx reply.</summary>
    Defer,
}
