using Postbote.Security;
using Postbote.Security.Sasl;

namespace Postbote.Pop3;

/// <summary>What the POP3 service needs to log users in: the SASL mechanisms of the user store SMTP AUTH uses (USER/PASS
/// goes through PLAIN's password check) and the failure limiter, the same instance as SMTP's, so guesses are counted
/// across both protocols.</summary>
/// <param name="Mechanisms">The mechanisms, strongest first; CAPA lists those available on the connection.</param>
/// <param name="Limiter">Counts failed logins per client address and blocks an address past the threshold.</param>
/// <param name="ScramPlusOnTls13">Whether SCRAM-SHA-256-PLUS is offered on TLS 1.3 (<c>[auth] scram_plus_tls13</c>).</param>
public sealed record Pop3Authentication(IReadOnlyList<ISaslMechanism> Mechanisms, AuthFailureLimiter Limiter, bool ScramPlusOnTls13 = false);
