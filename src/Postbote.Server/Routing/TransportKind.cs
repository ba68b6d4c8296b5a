namespace Postbote.Routing;

/// <summary>The protocol a <see cref="Transport"/> speaks to its next hop.</summary>
public enum TransportKind
{
    /// <summary>SMTP (RFC 5321) to a next hop; the hop relays or delivers.</summary>
    Smtp,
    /// <summary>LMTP (RFC 2033) to a final delivery server such as Dovecot, over TCP or a unix domain socket.</summary>
    Lmtp,
}
