using Postbote.Core;

namespace Postbote.Protocol.Smtp.Client;

/// <summary>The DSN parameters <see cref="SmtpCommandWriter.WriteRcpt"/> puts after the forward-path (RFC 3461 §4.1,
/// §4.2). Each is written only when set; the caller sends them only to a server that offered DSN.</summary>
public readonly record struct RcptCommandParameters
{
    /// <summary><c>NOTIFY=</c> (RFC 3461 §4.1): <c>NEVER</c>, or a comma-separated list of <c>SUCCESS</c>,
    /// <c>FAILURE</c>, <c>DELAY</c>; nothing for <see cref="DsnNotify.Default"/>.</summary>
    public DsnNotify Notify { get; init; }

    /// <summary>The <c>addr-type</c> of <c>ORCPT=</c> (RFC 3461 §4.2), an atom such as <c>rfc822</c> or <c>utf-8</c>;
    /// used only together with <see cref="OriginalRecipient"/>.</summary>
    public string? OriginalRecipientType { get; init; }

    /// <summary>The original recipient address of <c>ORCPT=</c> (RFC 3461 §4.2) as text, written xtext-encoded after
    /// <see cref="OriginalRecipientType"/> and <c>;</c> (at most 500 characters in all); <c>null</c> for none.</summary>
    public string? OriginalRecipient { get; init; }
}
