using Postbote.Security;
using Postbote.Security.Sasl;

namespace Postbote.Smtp;

/// <summary>What the SMTP service needs for AUTH (RFC 4954): the SASL mechanisms in order of preference and the limiter
/// of failed attempts per client address.</summary>
/// <param name="Mechanisms">The mechanisms, strongest first; EHLO lists those available on the connection.</param>
/// <param name="Limiter">Counts failures per client address and blocks an address past the threshold (454 4.7.0).</param>
public sealed record SmtpAuthentication(IReadOnlyList<ISaslMechanism> Mechanisms, AuthFailureLimiter Limiter);
