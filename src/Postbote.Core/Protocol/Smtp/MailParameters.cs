using Postbote.Core;

namespace Postbote.Protocol.Smtp;

/// <summary>The parameters of a MAIL command, after validation against the enabled extensions.</summary>
public struct MailParameters
{
    /// <summary><c>SIZE=</c> in bytes (RFC 1870 §3), or <c>null</c> when absent.</summary>
    public long? Size;
    /// <summary><c>BODY=</c> (RFC 6152 §2, RFC 3030 §3).</summary>
    public BodyType Body;
    /// <summary>The <c>SMTPUTF8</c> parameter was given (RFC 6531 §3.4).</summary>
    public bool SmtpUtf8;
    /// <summary><c>RET=</c> (RFC 3461 §4.3).</summary>
    public DsnReturn Return;
    /// <summary><c>ENVID=</c> as received, xtext (RFC 3461 §4.4), or <c>null</c>.</summary>
    public string? EnvelopeId;
    /// <summary><c>AUTH=</c> as received (RFC 4954 §5), xtext or <c>&lt;&gt;</c>, or <c>null</c>. Never trusted as an identity
    /// unless the session itself is authenticated.</summary>
    public string? Auth;
    /// <summary>The keyword at fault when parsing failed, for the reply text.</summary>
    public string? FaultKeyword;
}
