namespace Postbote.Security.Sasl;

/// <summary>One running SASL authentication exchange (RFC 4422 §3.4), server side.</summary>
public interface ISaslExchange
{
    /// <summary>Processes the client's next response.</summary>
    /// <param name="response">The decoded response; for the first step the initial response of <c>AUTH mech [initial]</c>,
    /// or <c>null</c> when the client sent none (RFC 4954 §4); an empty array for <c>=</c>.</param>
    /// <param name="cancellationToken">Cancels a user-store lookup.</param>
    /// <returns>The step: challenge, success, failure or malformed.</returns>
    ValueTask<SaslStep> StepAsync(byte[]? response, CancellationToken cancellationToken);
}
