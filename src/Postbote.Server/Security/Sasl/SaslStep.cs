namespace Postbote.Security.Sasl;

/// <summary>The outcome of one step of a SASL exchange.</summary>
/// <param name="Kind">Challenge, success, failure or malformed.</param>
/// <param name="Data">The challenge bytes, or the additional success data (SCRAM server-final); <c>null</c> for none.</param>
/// <param name="User">The authenticated user name on success (the authorization identity that was granted).</param>
/// <param name="Reason">Why it failed, for the log only; never sent to the client.</param>
public readonly record struct SaslStep(SaslStepKind Kind, byte[]? Data = null, string? User = null, string? Reason = null)
{
    /// <summary>A challenge.</summary>
    /// <param name="data">Challenge bytes (may be empty).</param>
    /// <returns>The step.</returns>
    public static SaslStep Challenge(byte[] data) => new(SaslStepKind.Challenge, data);

    /// <summary>Success.</summary>
    /// <param name="user">The authenticated user.</param>
    /// <param name="data">Additional data for the client, or <c>null</c>.</param>
    /// <returns>The step.</returns>
    public static SaslStep Success(string user, byte[]? data = null) => new(SaslStepKind.Success, data, user);

    /// <summary>Failure (wrong credentials).</summary>
    /// <param name="reason">For the log.</param>
    /// <returns>The step.</returns>
    public static SaslStep Failure(string reason) => new(SaslStepKind.Failure, Reason: reason);

    /// <summary>Malformed client message.</summary>
    /// <param name="reason">For the log.</param>
    /// <returns>The step.</returns>
    public static SaslStep Malformed(string reason) => new(SaslStepKind.Malformed, Reason: reason);
}
