namespace Postbote.Delivery.Smtp;

/// <summary>
/// How long a <see cref="SmtpClientSession"/> waits for the server, per command: the client timeouts of RFC 5321
/// §4.5.3.2, which says "An SMTP client MUST provide a timeout mechanism" and gives the minimum values used as
/// defaults here. Not settings of their own: tests shorten them.
/// </summary>
public sealed class SmtpClientTimeouts
{
    /// <summary>The wait for the 220 greeting (§4.5.3.2.1 "Initial 220 Message: 5 Minutes"); also for the replies
    /// to EHLO, HELO, LHLO and STARTTLS and for the TLS handshake. Defaults to 5 minutes.</summary>
    public TimeSpan Initial { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The wait for the reply to MAIL (§4.5.3.2.2 "MAIL Command: 5 Minutes"); also for RSET. Defaults to
    /// 5 minutes.</summary>
    public TimeSpan Mail { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The wait for the reply to each RCPT (§4.5.3.2.3 "RCPT Command: 5 Minutes"). Defaults to 5 minutes.</summary>
    public TimeSpan Rcpt { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The wait for the 354 reply to DATA (§4.5.3.2.4 "DATA Initiation: 2 Minutes"). Defaults to 2 minutes.</summary>
    public TimeSpan DataInitiation { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The longest one write of message data may take, a DATA block or a BDAT chunk (§4.5.3.2.5 "Data Block:
    /// 3 Minutes"). Defaults to 3 minutes.</summary>
    public TimeSpan DataBlock { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>The wait for the reply (in LMTP: each reply) after the end of the data (§4.5.3.2.6 "DATA Termination:
    /// 10 Minutes"; also after <c>BDAT … LAST</c>). Defaults to 10 minutes.</summary>
    public TimeSpan DataTermination { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The wait for the reply to QUIT before the connection is closed anyway. Defaults to 10 seconds, as
    /// Postfix's <c>smtp_quit_timeout</c> (RFC 5321 names no value).</summary>
    public TimeSpan Quit { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentException">A value is zero or negative.</exception>
    public void Validate()
    {
        foreach (TimeSpan t in (TimeSpan[])[Initial, Mail, Rcpt, DataInitiation, DataBlock, DataTermination, Quit])
        {
            if (t <= TimeSpan.Zero) throw new ArgumentException("every SMTP client timeout must be positive");
        }
    }
}
