namespace Postbote.Core;

/// <summary>The MAIL parameter <c>RET=</c> of RFC 3461 §4.3: what a failure notice carries of the message.</summary>
public enum DsnReturn
{
    /// <summary>No RET parameter: the server chooses (RFC 3461 §4.3); Postbote returns the whole message in a failure
    /// notice, as Postfix does, within its size limit.</summary>
    Default,
    /// <summary><c>RET=FULL</c>: the whole message.</summary>
    Full,
    /// <summary><c>RET=HDRS</c>: the headers only.</summary>
    Headers,
}
