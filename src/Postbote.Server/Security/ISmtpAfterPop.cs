using System.Net;

namespace Postbote.Security;

/// <summary>
/// SMTP-after-POP (also known as POP-before-SMTP): a client address that logged in to the POP3 server may relay through
/// SMTP for a while. The POP3 session records logins; the relay policy asks.
/// </summary>
public interface ISmtpAfterPop
{
    /// <summary>Records a successful POP3 login from <paramref name="client"/>: it may relay from now on for the
    /// configured window.</summary>
    /// <param name="client">The client's address (IPv4-mapped IPv6 addresses count as IPv4).</param>
    void RecordLogin(IPAddress client);

    /// <summary>Whether <paramref name="client"/> logged in to POP3 within the window.</summary>
    /// <param name="client">The SMTP client's address.</param>
    /// <returns><c>true</c> when it may relay.</returns>
    bool MayRelay(IPAddress client);
}
