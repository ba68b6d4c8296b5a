namespace Postbote.Smtp;

/// <summary>The role of an SMTP listener.</summary>
public enum ListenerKind
{
    /// <summary>Mail exchange (port 25, RFC 5321): anyone may send to local domains; STARTTLS offered when TLS is set up;
    /// AUTH offered after TLS; relaying only for trusted networks and authenticated users.</summary>
    Mx,
    /// <summary>Message submission (port 587, RFC 6409 §4): STARTTLS, and AUTH required before MAIL (530 5.7.0).</summary>
    Submission,
    /// <summary>Submission over implicit TLS (port 465, RFC 8314 §3.3): TLS from the first byte, AUTH required.</summary>
    Submissions,
}
