using System.Net;

namespace Postbote.Security;

/// <summary>What a policy knows about the SMTP session it decides for.</summary>
/// <param name="SessionId">The session ID used in logs.</param>
/// <param name="Remote">The client's address and port.</param>
/// <param name="Local">The listener's address and port.</param>
/// <param name="IsTrustedNetwork">Whether the client's address is in the trusted networks (may relay).</param>
/// <param name="AuthenticatedUser">The SMTP AUTH identity, or <c>null</c>.</param>
/// <param name="IsTls">Whether the session runs over TLS (STARTTLS or implicit).</param>
/// <param name="HeloName">The name the client gave in its last accepted HELO/EHLO (RFC 5321 §4.1.1.1), or <c>null</c>
/// before it (and after STARTTLS, which forgets it).</param>
public sealed record SessionInfo(string SessionId, IPEndPoint Remote, IPEndPoint Local, bool IsTrustedNetwork,
    string? AuthenticatedUser = null, bool IsTls = false, string? HeloName = null)
{
    /// <summary>Whether the client is one of ours: in the trusted networks or authenticated. Such a session may relay, and
    /// the checks meant for other servers' mail (SPF, DKIM and ARC verification, DMARC, DNS lists, greylisting) pass it
    /// by, as Postfix set-ups exempt <c>$mynetworks</c> and SASL clients.</summary>
    public bool IsOwnClient => IsTrustedNetwork || AuthenticatedUser is not null;
}

