using Postbote.Core;
using Postbote.Protocol.Smtp;
using Postbote.Security;

namespace Postbote.Smtp;

/// <summary>The mail transaction of RFC 5321 §3.3 as far as MAIL and RCPT have built it: begun by MAIL, added to by
/// each accepted RCPT, cleared by RSET, HELO/EHLO, STARTTLS and the end of the message.</summary>
internal sealed class MailTransaction
{
    /// <summary>Whether MAIL was accepted.</summary>
    public bool HasMail { get; private set; }

    /// <summary>The reverse-path, <c>null</c> for the null path <c>&lt;&gt;</c>.</summary>
    public Mailbox? ReversePath { get; private set; }

    /// <summary>MAIL's ESMTP parameters.</summary>
    public MailParameters Parameters { get; private set; }

    /// <summary>The transaction as the policy sees it (results of its stages); <c>null</c> before MAIL.</summary>
    public PolicyTransaction? Policy { get; private set; }

    /// <summary>The accepted recipients, in order.</summary>
    public List<Recipient> Recipients { get; } = new();

    /// <summary>Begins the transaction (MAIL accepted).</summary>
    /// <param name="reversePath">The reverse-path, or <c>null</c> for <c>&lt;&gt;</c>.</param>
    /// <param name="parameters">MAIL's parameters.</param>
    /// <param name="policy">The transaction as the policy saw it at MAIL.</param>
    public void Begin(Mailbox? reversePath, MailParameters parameters, PolicyTransaction policy)
    {
        HasMail = true;
        Policy = policy;
        ReversePath = reversePath;
        Parameters = parameters;
    }

    /// <summary>Clears the transaction.</summary>
    public void Clear()
    {
        HasMail = false;
        Policy = null;
        ReversePath = null;
        Parameters = default;
        Recipients.Clear();
    }
}
