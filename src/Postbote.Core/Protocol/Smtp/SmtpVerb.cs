namespace Postbote.Protocol.Smtp;

/// <summary>The SMTP command verbs Postbote knows (RFC 5321 §4.1.1 and the extensions it implements).</summary>
public enum SmtpVerb
{
    /// <summary>Not a known verb: answered <c>500 5.5.2</c>.</summary>
    Unknown,
    /// <summary><c>HELO</c> (RFC 5321 §4.1.1.1).</summary>
    Helo,
    /// <summary><c>EHLO</c> (RFC 5321 §4.1.1.1).</summary>
    Ehlo,
    /// <summary><c>MAIL FROM:</c> (RFC 5321 §4.1.1.2).</summary>
    Mail,
    /// <summary><c>RCPT TO:</c> (RFC 5321 §4.1.1.3).</summary>
    Rcpt,
    /// <summary><c>DATA</c> (RFC 5321 §4.1.1.4).</summary>
    Data,
    /// <summary><c>BDAT</c> (RFC 3030 §2).</summary>
    Bdat,
    /// <summary><c>RSET</c> (RFC 5321 §4.1.1.5).</summary>
    Rset,
    /// <summary><c>VRFY</c> (RFC 5321 §4.1.1.6).</summary>
    Vrfy,
    /// <summary><c>EXPN</c> (RFC 5321 §4.1.1.7).</summary>
    Expn,
    /// <summary><c>HELP</c> (RFC 5321 §4.1.1.8).</summary>
    Help,
    /// <summary><c>NOOP</c> (RFC 5321 §4.1.1.9).</summary>
    Noop,
    /// <summary><c>QUIT</c> (RFC 5321 §4.1.1.10).</summary>
    Quit,
    /// <summary><c>STARTTLS</c> (RFC 3207 §4).</summary>
    StartTls,
    /// <summary><c>AUTH</c> (RFC 4954 §4).</summary>
    Auth,
}
