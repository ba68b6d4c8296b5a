using System.Net;
using System.Text;
using Postbote.Core;

namespace Postbote.Delivery.Smtp;

public sealed partial class SmtpClientSession
{
    /// <summary>
    /// Authenticates with SMTP AUTH (RFC 4954) for the smarthost: PLAIN with an initial response (RFC 4616: authorization
    /// identity empty, then the user name and the password, separated by NUL), or LOGIN when the server offers only that.
    /// Only over TLS: RFC 4954 §4 says a client "SHOULD NOT" send a plain password "over an insecure channel"; Postbote
    /// never does.
    /// </summary>
    /// <param name="credential">The user name and password.</param>
    /// <param name="cancellationToken">Ends the wait (shutdown).</param>
    /// <returns>A task that completes when the server answered 235.</returns>
    /// <exception cref="SmtpClientException">The session is not encrypted (4.7.0, the smarthost did not offer STARTTLS), the
    /// server offers neither PLAIN nor LOGIN (4.7.0), refused the credentials (its reply, e.g. 535 5.7.8), or the connection
    /// failed. The message is deferred, as Postfix does when SASL fails at its relayhost.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task AuthenticateAsync(NetworkCredential credential, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credential);
        if (!IsTls)
        {
            _broken = true;
            throw new SmtpClientException(new EnhancedStatusCode(4, 7, 0), $"{RemoteHost} offers no STARTTLS; the smarthost password is sent over TLS only");
        }
        using var _ = Watch(cancellationToken);
        if (Capabilities.OffersAuth("PLAIN"))
        {
            byte[] plain = Encoding.UTF8.GetBytes("\0" + credential.UserName + "\0" + credential.Password);
            await CommandAsync("AUTH PLAIN " + Convert.ToBase64String(plain), "AUTH", expect: 235, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (Capabilities.OffersAuth("LOGIN"))
        {
            await CommandAsync("AUTH LOGIN", "AUTH", expect: 334, cancellationToken).ConfigureAwait(false);
            await CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(credential.UserName)), "AUTH", expect: 334, cancellationToken).ConfigureAwait(false);
            await CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(credential.Password)), "AUTH", expect: 235, cancellationToken).ConfigureAwait(false);
            return;
        }
        _broken = true;
        throw new SmtpClientException(new EnhancedStatusCode(4, 7, 0), $"{RemoteHost} offers neither AUTH PLAIN nor AUTH LOGIN");
    }

    /// <summary>Sends one line and reads its reply; anything but <paramref name="expect"/> ends the session.</summary>
    private async Task CommandAsync(string line, string during, int expect, CancellationToken cancellationToken)
    {
        Encoding.ASCII.GetBytes(line + "\r\n", _out);
        await FlushAsync(_timeouts.Initial, during, cancellationToken).ConfigureAwait(false);
        SmtpReply reply = await ReadReplyAsync(_timeouts.Initial, during, cancellationToken).ConfigureAwait(false);
        if ((int)reply.Code != expect) throw Refused(reply, during);
    }
}
