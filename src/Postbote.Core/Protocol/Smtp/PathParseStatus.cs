namespace Postbote.Protocol.Smtp;

/// <summary>The outcome of parsing a reverse-path or forward-path (RFC 5321 §4.1.2).</summary>
public enum PathParseStatus
{
    /// <summary>A well-formed path.</summary>
    Ok,
    /// <summary>Not a path by the grammar of RFC 5321 §4.1.2 (answered <c>501</c>).</summary>
    Syntax,
    /// <summary>Longer than RFC 5321 §4.5.3.1 allows: local part 64, domain 255, path 256 octets.</summary>
    TooLong,
    /// <summary>Contains UTF-8 although the transaction did not ask for SMTPUTF8 (RFC 6531 §3.7.4: <c>553 5.6.7</c>).</summary>
    NonAsciiNotAllowed,
    /// <summary>Starts with a source route (<c>A-d-l</c>) that is not <c>@domain *("," @domain) ":"</c> (RFC 5321 §4.1.2),
    /// e.g. <c>&lt;@relay.example rcpt@example.com&gt;</c>: a syntax error (<c>501</c>), never a relay attempt.</summary>
    BadSourceRoute,
}
