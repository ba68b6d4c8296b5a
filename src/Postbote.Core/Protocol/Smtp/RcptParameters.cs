using Postbote.Core;

namespace Postbote.Protocol.Smtp;

/// <summary>The parameters of a RCPT command (RFC 3461 §4.1, §4.2).</summary>
public struct RcptParameters
{
    /// <summary><c>NOTIFY=</c>.</summary>
    public DsnNotify Notify;
    /// <summary><c>ORCPT=</c> as received, <c>addr-type;xtext</c>, or <c>null</c>.</summary>
    public string? OriginalRecipient;
    /// <summary>The keyword at fault when parsing failed, for the reply text.</summary>
    public string? FaultKeyword;
}
