namespace Postbote.Core;

/// <summary>The RCPT parameter <c>NOTIFY=</c> of RFC 3461 §4.1: when a delivery status notification is wanted.</summary>
[Flags]
public enum DsnNotify
{
    /// <summary>No NOTIFY parameter was given: the server's default applies (failure and, at its choice, delay).</summary>
    Default = 0,
    /// <summary><c>NOTIFY=NEVER</c>: no notification at all. Exclusive of the others.</summary>
    Never = 1,
    /// <summary><c>SUCCESS</c>: notify on successful delivery.</summary>
    Success = 2,
    /// <summary><c>FAILURE</c>: notify on failure.</summary>
    Failure = 4,
    /// <summary><c>DELAY</c>: notify on delay.</summary>
    Delay = 8,
}
