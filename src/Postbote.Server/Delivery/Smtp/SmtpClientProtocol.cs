namespace Postbote.Delivery.Smtp;

/// <summary>Which protocol a <see cref="SmtpClientSession"/> speaks.</summary>
public enum SmtpClientProtocol
{
    /// <summary>SMTP (RFC 5321) to a next hop: EHLO with HELO fallback, one reply to the end of data for every
    /// accepted recipient.</summary>
    Smtp,
    /// <summary>LMTP (RFC 2033) to a final delivery agent such as Dovecot: LHLO instead of EHLO (§4.1), and after the
    /// end of data one reply per accepted recipient, in the order of the RCPT commands (§4.2).</summary>
    Lmtp,
}
