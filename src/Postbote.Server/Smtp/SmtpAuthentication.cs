using Postbote.Security;
using Postbote.Security.Sasl;

namespace Postbote.Smtp;

/// <summary>What the SMTP service needs for AUTH (RFC 4954): the SASL mechanisms in order of preference and the limiter
/// of failed attempts per client address.</summary>
/// <param name="Mechanisms">The mechanisms, strongest first; EHLO lists those available on the connection.</param>
/// <param name="Limiter">Counts failures per client address and blocks an address past the threshold (454 4.7.0).</param>
/// <param name="ScramPlusOnTls13">Whether SCRAM-SHA-256-PLUS is offered on TLS 1.3 connections, with
/// <c>tls-server-end-point</c> as the only binding. Defaults to <c>false</c>: RFC 9266 §3 makes <c>tls-exporter</c> the
/// binding of TLS 1.3 and clients pick it by themselves (gsasl, mutt), but .NET does not export the keying material it
/// needs, so an offered -PLUS would fail them. On TLS 1.2 -PLUS is always offered (<c>tls-unique</c>,
/// <c>tls-server-end-point</c>).</param>
public sealed record SmtpAuthentication(IReadOnlyList<ISaslMechanism> Mechanisms, AuthFailureLimiter Limiter, bool ScramPlusOnTls13 = false);
