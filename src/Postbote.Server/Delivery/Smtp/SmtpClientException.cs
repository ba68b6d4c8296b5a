using Postbote.Core;

namespace Postbote.Delivery.Smtp;

/// <summary>
/// A <see cref="SmtpClientSession"/> could not go on: the connection failed, was lost or timed out, the server refused
/// the session (greeting, EHLO/HELO), the TLS handshake failed, or the server sent something that is no reply. The
/// session is closed. <see cref="Reply"/> is what every recipient still open is told.
/// </summary>
public sealed class SmtpClientException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reply">The server's reply, or one made here (e.g. <c>451 4.4.1 connect to … : Connection
    /// refused</c>).</param>
    /// <param name="inner">The cause, if any.</param>
    public SmtpClientException(SmtpReply reply, Exception? inner = null)
        : base(reply?.ToString().TrimEnd('\r', '\n').Replace("\r\n", " ", StringComparison.Ordinal), inner)
    {
        Reply = reply!;
    }

    /// <summary>Creates the exception with a temporary reply <c>451 <paramref name="status"/> <paramref name="text"/></c>.</summary>
    /// <param name="status">The enhanced status code (RFC 3463), e.g. 4.4.1 no answer from host.</param>
    /// <param name="text">What happened, for logs and delivery reports.</param>
    /// <param name="inner">The cause, if any.</param>
    public SmtpClientException(EnhancedStatusCode status, string text, Exception? inner = null)
        : this(new SmtpReply(SmtpReplyCode.LocalError, status, text), inner)
    {
    }

    /// <summary>The reply that explains the failure.</summary>
    public SmtpReply Reply { get; }
}
