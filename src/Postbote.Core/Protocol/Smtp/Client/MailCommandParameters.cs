using Postbote.Core;

namespace Postbote.Protocol.Smtp.Client;

/// <summary>The ESMTP parameters <see cref="SmtpCommandWriter.WriteMail"/> puts after the reverse-path (RFC 5321 §4.1.2
/// <c>Mail-parameters</c>). Each is written only when set; the caller sends only those the server offered.</summary>
public readonly record struct MailCommandParameters
{
    /// <summary><c>SIZE=n</c>, the message size in octets (RFC 1870 §6); <c>null</c> for none.</summary>
    public long? Size { get; init; }

    /// <summary><c>BODY=8BITMIME</c> (RFC 6152 §2) or <c>BODY=BINARYMIME</c> (RFC 3030 §3); nothing for
    /// <see cref="BodyType.SevenBit"/>.</summary>
    public BodyType Body { get; init; }

    /// <summary><c>SMTPUTF8</c> (RFC 6531 §3.4): the envelope or headers hold UTF-8.</summary>
    public bool SmtpUtf8 { get; init; }

    /// <summary><c>RET=FULL</c> or <c>RET=HDRS</c> (RFC 3461 §4.3); nothing for <see cref="DsnReturn.Default"/>.</summary>
    public DsnReturn Return { get; init; }

    /// <summary><c>ENVID=</c> (RFC 3461 §4.4): the envelope identifier as text, written xtext-encoded (at most 100
    /// characters once encoded); <c>null</c> for none. A value stored in its received xtext form is decoded first with
    /// <see cref="XText.TryDecode"/>.</summary>
    public string? EnvelopeId { get; init; }
}
