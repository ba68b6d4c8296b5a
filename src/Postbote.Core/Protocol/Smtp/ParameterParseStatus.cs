namespace Postbote.Protocol.Smtp;

/// <summary>The outcome of parsing the ESMTP parameters of MAIL or RCPT (RFC 5321 §4.1.2 <c>Mail-parameters</c>).</summary>
public enum ParameterParseStatus
{
    /// <summary>All parameters well-formed and known.</summary>
    Ok,
    /// <summary>Not <c>esmtp-param *(SP esmtp-param)</c>, a duplicated keyword, or a bad value: <c>501 5.5.4</c>.</summary>
    Malformed,
    /// <summary>A well-formed keyword of an extension that is not enabled or not known: <c>555 5.5.4</c>
    /// (RFC 5321 §4.1.1.11).</summary>
    Unknown,
}
