namespace Postbote.Security.Sasl;

/// <summary>What one step of a SASL exchange (RFC 4422 §3) produced.</summary>
public enum SaslStepKind
{
    /// <summary>A challenge for the client: the session sends <c>334 base64(challenge)</c> (RFC 4954 §4).</summary>
    Challenge,
    /// <summary>Authenticated. With <see cref="SaslStep.Data"/> set (SCRAM's server-final-message), the session sends it as
    /// a last <c>334</c> challenge and expects an empty response before <c>235</c>; RFC 4954 §4 also allows additional data
    /// with 235, but a 334 round trip is what clients implement.</summary>
    Success,
    /// <summary>Credentials wrong or unknown user: <c>535 5.7.8</c>.</summary>
    Failure,
    /// <summary>The client's message is malformed: <c>501 5.5.2</c>.</summary>
    Malformed,
}
