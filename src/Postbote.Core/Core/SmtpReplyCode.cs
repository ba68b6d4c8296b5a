namespace Postbote.Core;

/// <summary>
/// The three-digit SMTP reply codes that Postbote sends, as defined by RFC 5321 §4.2.2 and §4.2.3,
/// RFC 3030 (CHUNKING), RFC 3207 (STARTTLS) and RFC 4954 (AUTH), and those a remote server may send that RFC 4954 and
/// RFC 7504 add. Only codes an RFC defines are named. A reply parsed from a remote server may carry any code the
/// grammar of RFC 5321 §4.2 allows (<c>%x32-35 %x30-35 %x30-39</c>, 200 to 559), named here or not: an unnamed one is
/// kept as its number, e.g. <c>(SmtpReplyCode)253</c>, and only its first digit decides what it means (§4.2.1).
/// </summary>
public enum SmtpReplyCode
{
    /// <summary>211 System status, or system help reply (RFC 5321 §4.2.3).</summary>
    SystemStatus = 211,
    /// <summary>214 Help message (RFC 5321 §4.2.3).</summary>
    HelpMessage = 214,
    /// <summary>220 &lt;domain&gt; Service ready (RFC 5321 §4.2.3); also "ready to start TLS" (RFC 3207 §4).</summary>
    ServiceReady = 220,
    /// <summary>221 &lt;domain&gt; Service closing transmission channel (RFC 5321 §4.2.3).</summary>
    ServiceClosing = 221,
    /// <summary>235 Authentication successful (RFC 4954 §6).</summary>
    AuthenticationSucceeded = 235,
    /// <summary>250 Requested mail action okay, completed (RFC 5321 §4.2.3).</summary>
    Ok = 250,
    /// <summary>251 User not local; will forward (RFC 5321 §4.2.3).</summary>
    UserNotLocalWillForward = 251,
    /// <summary>252 Cannot VRFY user, but will accept message and attempt delivery (RFC 5321 §4.2.3).</summary>
    CannotVerifyUser = 252,
    /// <summary>334 Server challenge during SASL authentication (RFC 4954 §4).</summary>
    AuthenticationChallenge = 334,
    /// <summary>354 Start mail input; end with &lt;CRLF&gt;.&lt;CRLF&gt; (RFC 5321 §4.2.3).</summary>
    StartMailInput = 354,
    /// <summary>421 &lt;domain&gt; Service not available, closing transmission channel (RFC 5321 §4.2.3).</summary>
    ServiceNotAvailable = 421,
    /// <summary>432 A password transition is needed (RFC 4954 §6).</summary>
    PasswordTransitionNeeded = 432,
    /// <summary>450 Requested mail action not taken: mailbox unavailable (RFC 5321 §4.2.3).</summary>
    MailboxUnavailableTemporary = 450,
    /// <summary>451 Requested action aborted: local error in processing (RFC 5321 §4.2.3).</summary>
    LocalError = 451,
    /// <summary>452 Requested action not taken: insufficient system storage (RFC 5321 §4.2.3); also "too many recipients" (§4.5.3.1.10).</summary>
    InsufficientStorage = 452,
    /// <summary>454 Temporary authentication failure (RFC 4954 §6) or TLS not available (RFC 3207 §4).</summary>
    TemporaryAuthenticationFailure = 454,
    /// <summary>455 Server unable to accommodate parameters (RFC 5321 §4.2.3).</summary>
    UnableToAccommodateParameters = 455,
    /// <summary>500 Syntax error, command unrecognized; also "line too long" (RFC 5321 §4.2.3).</summary>
    SyntaxError = 500,
    /// <summary>501 Syntax error in parameters or arguments (RFC 5321 §4.2.3).</summary>
    SyntaxErrorInParameters = 501,
    /// <summary>502 Command not implemented (RFC 5321 §4.2.3).</summary>
    CommandNotImplemented = 502,
    /// <summary>503 Bad sequence of commands (RFC 5321 §4.2.3).</summary>
    BadSequence = 503,
    /// <summary>504 Command parameter not implemented (RFC 5321 §4.2.3).</summary>
    ParameterNotImplemented = 504,
    /// <summary>521 Host does not accept mail (RFC 7504 §3).</summary>
    HostDoesNotAcceptMail = 521,
    /// <summary>530 Authentication required (RFC 4954 §6); also "Must issue a STARTTLS command first" (RFC 3207 §4).</summary>
    AuthenticationRequired = 530,
    /// <summary>538 Encryption required for requested authentication mechanism (RFC 4954 §6).</summary>
    EncryptionRequired = 538,
    /// <summary>534 Authentication mechanism is too weak (RFC 4954 §6).</summary>
    AuthenticationMechanismTooWeak = 534,
    /// <summary>535 Authentication credentials invalid (RFC 4954 §6).</summary>
    AuthenticationInvalid = 535,
    /// <summary>550 Requested action not taken: mailbox unavailable, or policy refusal (RFC 5321 §4.2.3).</summary>
    MailboxUnavailable = 550,
    /// <summary>551 User not local (RFC 5321 §4.2.3).</summary>
    UserNotLocal = 551,
    /// <summary>552 Requested mail action aborted: exceeded storage allocation (RFC 5321 §4.2.3).</summary>
    ExceededStorage = 552,
    /// <summary>553 Requested action not taken: mailbox name not allowed (RFC 5321 §4.2.3).</summary>
    MailboxNameNotAllowed = 553,
    /// <summary>554 Transaction failed, or "No SMTP service here" at connection (RFC 5321 §4.2.3).</summary>
    TransactionFailed = 554,
    /// <summary>555 MAIL FROM/RCPT TO parameters not recognized or not implemented (RFC 5321 §4.2.3).</summary>
    ParametersNotRecognized = 555,
    /// <summary>556 Domain does not accept mail (RFC 7504 §3), e.g. a null MX (RFC 7505 §4.3).</summary>
    DomainDoesNotAcceptMail = 556,
}
