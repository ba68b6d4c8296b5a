using System.Net;
using Postbote.Net;

namespace Postbote.Smtp;

/// <summary>One SMTP listener: where it listens and what it asks of clients.</summary>
/// <param name="EndPoint">Address and port.</param>
/// <param name="Kind">MX, submission, or submission over implicit TLS.</param>
/// <param name="RequireTls">Whether commands other than EHLO, HELO, STARTTLS, NOOP, RSET and QUIT need TLS first
/// (<c>530 5.7.0 Must issue a STARTTLS command first</c>, RFC 3207 §4). Submission listeners need TLS in effect when TLS
/// is set up, unless <paramref name="AllowPlaintextAuth"/>; EHLO offers AUTH before TLS only where neither demands it.</param>
/// <param name="AllowPlaintextAuth">Whether AUTH (and with it submission) may be used without TLS on this listener (for
/// loopback-only set-ups).</param>
/// <param name="LegacyTlsCiphers">Whether TLS handshakes on this listener also accept the CBC and RSA key-exchange
/// suites of <see cref="Postbote.Net.TlsCipherSuites.Legacy"/>, for old senders on an MX listener where TLS is
/// opportunistic (RFC 7435); otherwise AEAD suites only.</param>
public sealed record ListenerOptions(IPEndPoint EndPoint, ListenerKind Kind = ListenerKind.Mx, bool RequireTls = false,
    bool AllowPlaintextAuth = false, bool LegacyTlsCiphers = false) : IListenerEndPoint
{
    /// <summary>Whether the listener requires AUTH before MAIL (RFC 6409 §4.3 for submission).</summary>
    public bool RequiresAuth => Kind != ListenerKind.Mx;

    /// <summary>Whether TLS starts with the connection (RFC 8314 §3.3).</summary>
    public bool ImplicitTls => Kind == ListenerKind.Submissions;
}
