using Postbote.Core;
using Postbote.Net;
using Postbote.Protocol.Smtp;
using Postbote.Queue;

namespace Postbote.Smtp;

/// <summary>
/// The SMTP service's fixed replies (beside the common ones of <see cref="SmtpReply"/>), and the one mapping from a fault
/// (message data faults, spool failures, aborted connections, exceeded limits) to the reply the client gets. Reply text
/// is US-ASCII (RFC 5321 §4.2), so section signs are spelt out.
/// </summary>
internal static class SmtpReplies
{
    // ---- connection -------------------------------------------------------------------------------------------------

    /// <summary><c>554 5.7.1</c> when the connect-stage policy refuses without a reply of its own.</summary>
    public static readonly SmtpReply ServiceRefused = new(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.NotAuthorized, "Service refused");

    /// <summary><c>221 2.0.0</c> for QUIT (RFC 5321 §4.1.1.10).</summary>
    public static readonly SmtpReply Bye = new(SmtpReplyCode.ServiceClosing, EnhancedStatusCode.Success, "Bye");

    /// <summary>The greeting (RFC 5321 §4.2, <c>220</c>).</summary>
    /// <param name="hostName">The server's host name.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply Greeting(string hostName) => new(SmtpReplyCode.ServiceReady, null, hostName + " ESMTP");

    /// <summary>The refusal of a connection over a limit: <c>421 4.4.5</c> for the limit in all, <c>421 4.7.0</c> for
    /// the limit per client address.</summary>
    /// <param name="refusal">The limit exceeded.</param>
    /// <param name="hostName">The server's host name.</param>
    /// <param name="client">The client's address.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply TooManyConnections(ConnectionRefusal refusal, string hostName, System.Net.IPAddress client) =>
        refusal == ConnectionRefusal.TooManyConnections
            ? new SmtpReply(SmtpReplyCode.ServiceNotAvailable, EnhancedStatusCode.Congestion, hostName + " Error: too many connections")
            : new SmtpReply(SmtpReplyCode.ServiceNotAvailable, EnhancedStatusCode.TemporarySecurity, hostName + $" Error: too many connections from {client}");

    /// <summary><c>421 4.7.0</c> after <see cref="SmtpServerLimits.MaxErrors"/> errors.</summary>
    /// <param name="hostName">The server's host name.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply TooManyErrors(string hostName) =>
        new(SmtpReplyCode.ServiceNotAvailable, EnhancedStatusCode.TemporarySecurity, hostName + " Error: too many errors");

    /// <summary>What an abort reason is called in the closing reply and the log.</summary>
    /// <param name="reason">The reason the connection was aborted.</param>
    /// <returns>For example <c>timeout exceeded</c>.</returns>
    public static string Describe(ConnectionAbortReason reason) => reason switch
    {
        ConnectionAbortReason.IdleTimeout => "timeout exceeded",
        ConnectionAbortReason.CommandLineTimeout => "command line timeout exceeded",
        ConnectionAbortReason.DataRateTooLow => "data rate below minimum",
        ConnectionAbortReason.Shutdown => "shutdown",
        _ => "cancelled",
    };

    /// <summary>The 421 of RFC 5321 §3.8 for a session the server ends: 4.3.2 when it is stopping, 4.4.2 for a
    /// timeout or a client too slow.</summary>
    /// <param name="reason">Why the session ends.</param>
    /// <param name="hostName">The server's host name.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply Closing(ConnectionAbortReason reason, string hostName) => reason == ConnectionAbortReason.Shutdown
        ? new SmtpReply(SmtpReplyCode.ServiceNotAvailable, new EnhancedStatusCode(4, 3, 2), hostName + " Service shutting down, closing transmission channel")
        : new SmtpReply(SmtpReplyCode.ServiceNotAvailable, EnhancedStatusCode.BadConnection, "Error: " + Describe(reason) + ", closing transmission channel");

    // ---- commands ---------------------------------------------------------------------------------------------------

    /// <summary><c>500 5.5.2</c> for a command line with control characters.</summary>
    public static readonly SmtpReply InvalidCharacters = new(SmtpReplyCode.SyntaxError, EnhancedStatusCode.SyntaxError, "Error: invalid characters in command");

    /// <summary><c>530 5.7.0</c> (RFC 3207 §4) for a command that needs TLS first.</summary>
    public static readonly SmtpReply MustStartTls = new(SmtpReplyCode.AuthenticationRequired, EnhancedStatusCode.TemporarySecurity with { Class = 5 }, "Must issue a STARTTLS command first");

    /// <summary><c>502 5.5.1</c> for a command that is not implemented or not enabled.</summary>
    public static readonly SmtpReply NotImplemented = new(SmtpReplyCode.CommandNotImplemented, EnhancedStatusCode.InvalidCommand, "Error: command not implemented");

    /// <summary><c>252 2.0.0</c> for VRFY (RFC 5321 §3.5.3).</summary>
    public static readonly SmtpReply CannotVrfy = new(SmtpReplyCode.CannotVerifyUser, EnhancedStatusCode.Success, "Cannot VRFY user, but will accept message and attempt delivery");

    /// <summary><c>252 2.0.0</c> for EXPN where it is enabled.</summary>
    public static readonly SmtpReply CannotExpn = new(SmtpReplyCode.CannotVerifyUser, EnhancedStatusCode.Success, "Cannot EXPN list, but will accept message and attempt delivery");

    /// <summary><c>214 2.0.0</c> for HELP (RFC 5321 §4.1.1.8).</summary>
    public static readonly SmtpReply Help = new(SmtpReplyCode.HelpMessage, EnhancedStatusCode.Success,
        "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP; see RFC 5321");

    /// <summary><c>501 5.5.4</c> with the syntax of a command.</summary>
    /// <param name="text">For example <c>Syntax: RSET</c>.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply Syntax(string text) => new(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.InvalidArguments, text);

    /// <summary>451 4.3.5: the end-of-data policy failed (RFC 3463 §3.4 X.3.5 "System incorrectly configured"); the
    /// client keeps the message and tries again.</summary>
    public static readonly SmtpReply PolicyFailure = new(SmtpReplyCode.LocalError, new EnhancedStatusCode(4, 3, 5),
        "Error: temporary local problem checking the message, try again later");

    /// <summary><c>503 5.5.1</c> for MAIL before HELO or EHLO.</summary>
    public static readonly SmtpReply SendHelloFirst = new(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: send HELO/EHLO first");

    /// <summary><c>503 5.5.1</c> for MAIL inside a transaction.</summary>
    public static readonly SmtpReply NestedMail = new(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: nested MAIL command");

    /// <summary><c>503 5.5.1</c> for RCPT, DATA or BDAT without MAIL.</summary>
    public static readonly SmtpReply NeedMail = new(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: need MAIL command");

    /// <summary><c>554 5.5.1</c> for DATA or BDAT without an accepted recipient.</summary>
    public static readonly SmtpReply NoValidRecipients = new(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.InvalidCommand, "Error: no valid recipients");

    /// <summary><c>530 5.7.0</c> for MAIL on a submission listener before AUTH (RFC 6409 §4.3).</summary>
    public static readonly SmtpReply AuthenticationRequired = new(SmtpReplyCode.AuthenticationRequired, new EnhancedStatusCode(5, 7, 0), "Authentication required");

    /// <summary><c>553 5.6.7</c> for a non-ASCII address without SMTPUTF8 (RFC 6531 §3.5).</summary>
    public static readonly SmtpReply NonAsciiAddress = new(SmtpReplyCode.MailboxNameNotAllowed, EnhancedStatusCode.NonAsciiNotPermitted, "Error: non-ASCII address needs the SMTPUTF8 parameter");

    /// <summary><c>552 5.3.4</c> for a SIZE parameter over the limit (RFC 1870 §6).</summary>
    public static readonly SmtpReply SizeExceedsLimit = new(SmtpReplyCode.ExceededStorage, EnhancedStatusCode.MessageTooBig, "Error: message size exceeds fixed limit");

    /// <summary><c>554 5.7.1</c> for a forward-path such as <c>&lt;user@foreign@local&gt;</c>, a relay probe.</summary>
    public static readonly SmtpReply RelayAccessDenied = new(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.NotAuthorized, "Relay access denied");

    /// <summary>The <c>501</c> for a reverse-path (5.1.7) or forward-path (5.1.3) that does not parse.</summary>
    /// <param name="status">What the path parser found.</param>
    /// <param name="sender"><c>true</c> for MAIL's reverse-path, <c>false</c> for RCPT's forward-path.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply BadPath(PathParseStatus status, bool sender) => sender
        ? new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.BadSenderSyntax,
            status switch
            {
                PathParseStatus.TooLong => "Error: sender address too long",
                PathParseStatus.BadSourceRoute => "Error: bad source route in sender address",
                _ => "Error: bad sender address syntax",
            })
        : new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.BadDestinationSyntax,
            status switch
            {
                PathParseStatus.TooLong => "Error: recipient address too long",
                PathParseStatus.BadSourceRoute => "Error: bad source route in recipient address",
                _ => "Error: bad recipient address syntax",
            });

    /// <summary><c>555 5.5.4</c> for an unknown MAIL or RCPT parameter (RFC 5321 §4.1.1.11), else <c>501 5.5.4</c>.</summary>
    /// <param name="status">What the parameter parser found.</param>
    /// <param name="keyword">The parameter at fault, or <c>null</c>.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply ParameterError(ParameterParseStatus status, string? keyword) => status == ParameterParseStatus.Unknown
        ? new SmtpReply(SmtpReplyCode.ParametersNotRecognized, EnhancedStatusCode.InvalidArguments, $"Error: unsupported parameter {keyword}")
        : new SmtpReply(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.InvalidArguments, keyword is null ? "Error: malformed parameters" : $"Error: bad parameter {keyword}");

    // ---- STARTTLS (RFC 3207) ----------------------------------------------------------------------------------------

    /// <summary><c>220 2.0.0</c>: the handshake follows.</summary>
    public static readonly SmtpReply ReadyToStartTls = new(SmtpReplyCode.ServiceReady, EnhancedStatusCode.Success, "Ready to start TLS");

    /// <summary><c>503 5.5.1</c> for STARTTLS over TLS.</summary>
    public static readonly SmtpReply TlsAlreadyActive = new(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: TLS already active");

    /// <summary><c>503 5.5.1</c> for STARTTLS inside a transaction.</summary>
    public static readonly SmtpReply StartTlsInTransaction = new(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: STARTTLS inside a mail transaction");

    // ---- AUTH (RFC 4954) --------------------------------------------------------------------------------------------

    /// <summary><c>500 5.5.6</c> (RFC 4954 §4) for a SASL line (an AUTH command or a response) over 12,288 octets.</summary>
    public static readonly SmtpReply SaslLineTooLong = new(SmtpReplyCode.SyntaxError, new EnhancedStatusCode(5, 5, 6), "Error: authentication exchange line is too long");

    /// <summary><c>503 5.5.1</c> for AUTH where it is not enabled (or after HELO).</summary>
    public static readonly SmtpReply AuthNotEnabled = new(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: authentication not enabled");

    /// <summary><c>503 5.5.1</c> for a second AUTH (RFC 4954 §4).</summary>
    public static readonly SmtpReply AlreadyAuthenticated = new(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: already authenticated");

    /// <summary><c>503 5.5.1</c> for AUTH inside a transaction (RFC 4954 §4).</summary>
    public static readonly SmtpReply AuthInTransaction = new(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: AUTH not allowed during a mail transaction");

    /// <summary><c>504 5.5.4</c> for a mechanism the server does not know.</summary>
    public static readonly SmtpReply UnrecognizedMechanism = new(SmtpReplyCode.ParameterNotImplemented, EnhancedStatusCode.InvalidArguments, "Error: unrecognized authentication type");

    /// <summary><c>538 5.7.11</c> (RFC 4954 §6) for AUTH in clear where that is not allowed.</summary>
    public static readonly SmtpReply EncryptionRequired = new(SmtpReplyCode.EncryptionRequired, new EnhancedStatusCode(5, 7, 11), "Encryption required for requested authentication mechanism");

    /// <summary><c>504 5.5.4</c> for a mechanism known but not usable on this connection (a -PLUS one without binding).</summary>
    public static readonly SmtpReply MechanismNotAvailable = new(SmtpReplyCode.ParameterNotImplemented, EnhancedStatusCode.InvalidArguments, "Error: authentication type not available on this connection");

    /// <summary><c>501 5.5.2</c> for a response that is not base64.</summary>
    public static readonly SmtpReply InvalidBase64 = new(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.SyntaxError, "Error: invalid base64 data");

    /// <summary><c>454 4.7.0</c> for a client address blocked after failed attempts.</summary>
    public static readonly SmtpReply TooManyAuthFailures = new(SmtpReplyCode.TemporaryAuthenticationFailure, EnhancedStatusCode.TemporarySecurity, "Error: too many failed authentication attempts, try again later");

    /// <summary><c>501 5.7.0</c> for a client's <c>*</c> (RFC 4954 §4).</summary>
    public static readonly SmtpReply AuthCancelled = new(SmtpReplyCode.SyntaxErrorInParameters, new EnhancedStatusCode(5, 7, 0), "Authentication cancelled");

    /// <summary><c>501 5.5.2</c> for a non-empty answer to the server's final SASL message.</summary>
    public static readonly SmtpReply UnexpectedAuthData = new(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.SyntaxError, "Error: unexpected data after authentication");

    /// <summary><c>501 5.5.2</c> for SASL data the mechanism cannot parse.</summary>
    public static readonly SmtpReply MalformedAuthData = new(SmtpReplyCode.SyntaxErrorInParameters, EnhancedStatusCode.SyntaxError, "Error: malformed authentication data");

    /// <summary><c>535 5.7.8</c> (RFC 4954 §6) for wrong credentials.</summary>
    public static readonly SmtpReply AuthenticationFailed = new(SmtpReplyCode.AuthenticationInvalid, new EnhancedStatusCode(5, 7, 8), "Error: authentication failed");

    /// <summary><c>235 2.7.0</c> (RFC 4954 §6).</summary>
    public static readonly SmtpReply AuthenticationSucceeded = new(SmtpReplyCode.AuthenticationSucceeded, new EnhancedStatusCode(2, 7, 0), "Authentication successful");

    /// <summary>A <c>334</c> challenge (RFC 4954 §4) with its base64 data.</summary>
    /// <param name="data">The challenge octets.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply Challenge(byte[]? data) => new(SmtpReplyCode.AuthenticationChallenge, null, Convert.ToBase64String(data ?? []));

    // ---- message data -----------------------------------------------------------------------------------------------

    /// <summary><c>503 5.5.1</c> for DATA after <c>BODY=BINARYMIME</c>.</summary>
    public static readonly SmtpReply BinaryMimeNeedsBdat = new(SmtpReplyCode.BadSequence, EnhancedStatusCode.InvalidCommand, "Error: BODY=BINARYMIME needs BDAT, not DATA");

    /// <summary><c>554 5.6.0</c> for a bare CR or LF in message data. Reply text is US-ASCII (RFC 5321 §4.2: "the text
    /// ... is human-readable ... US-ASCII"), so the section sign is spelt out.</summary>
    public static readonly SmtpReply BareLineEnding = new(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.MediaError,
        "Error: bare <CR> or <LF> in message data (RFC 5321 section 2.3.8)");

    /// <summary><c>554 5.6.0</c> for a text line over 1,000 octets (RFC 5321 §4.5.3.1.6), in US-ASCII.</summary>
    public static readonly SmtpReply DataLineTooLong = new(SmtpReplyCode.TransactionFailed, EnhancedStatusCode.MediaError,
        "Error: message line longer than 1000 octets (RFC 5321 section 4.5.3.1.6)");

    /// <summary>The reply for what the DATA decoder or BDAT checker found: size first, then bare line endings, then
    /// long lines.</summary>
    /// <param name="faults">The faults, at least one.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply ForFaults(DataFaults faults)
    {
        if ((faults & DataFaults.TooBig) != 0) return SmtpReply.MessageTooBig;
        if ((faults & (DataFaults.BareLineFeed | DataFaults.BareCarriageReturn)) != 0) return BareLineEnding;
        return DataLineTooLong;
    }

    /// <summary>The reply for a spool that could not begin a message: <c>452 4.3.1</c> when the file system is full
    /// (RFC 3463 §3.4), else <c>451 4.3.0</c>.</summary>
    /// <param name="e">The spool's error.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply ForBeginFailure(IOException e) =>
        StorageFaults.IsOutOfSpace(e) ? SmtpReply.InsufficientSystemStorage : SmtpReply.QueueWriteError;

    /// <summary>The reply for a spool write or commit that failed after the message was begun: <c>451 4.3.1</c> when the
    /// file system is full (RFC 3463 §3.4), else <c>451 4.3.0</c>.</summary>
    /// <param name="e">The spool's error.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply ForWriteFailure(IOException e) =>
        StorageFaults.IsOutOfSpace(e) ? SmtpReply.MailSystemFull : SmtpReply.QueueWriteError;

    /// <summary><c>250 2.0.0</c> for a BDAT chunk that is not the last (RFC 3030 §2).</summary>
    /// <param name="octets">The octets received in the transaction so far.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply ChunkReceived(long octets) => new(SmtpReplyCode.Ok, EnhancedStatusCode.Success, $"{octets} octets received");

    /// <summary><c>250 2.0.0</c> once the message is durable in the spool.</summary>
    /// <param name="id">Its queue ID.</param>
    /// <returns>The reply.</returns>
    public static SmtpReply Queued(QueueId id) => new(SmtpReplyCode.Ok, EnhancedStatusCode.Success, "Ok: queued as " + id);
}
