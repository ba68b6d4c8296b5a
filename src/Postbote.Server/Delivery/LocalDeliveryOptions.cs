using Postbote.Routing;

namespace Postbote.Delivery;

/// <summary>
/// The local part of the mail system, set from the <c>[local]</c> table of the configuration: the recipient tables
/// (domains, mailboxes, aliases, catch-all; see <see cref="LocalRecipientOptions"/>) and where and how the Maildirs are
/// written.
/// </summary>
public sealed class LocalDeliveryOptions : LocalRecipientOptions
{
    /// <summary>The root of the Maildirs: mailbox <c>user@domain</c> is the Maildir <c>{MaildirRoot}/domain/user/</c>.
    /// Default: <c>{data_dir}/mail</c>.</summary>
    public string MaildirRoot { get; set; } = "data/mail";

    /// <summary>Whether Maildir copies keep the CRLF line ends of SMTP (as Dovecot's <c>mail_save_crlf</c>). Default
    /// <c>false</c>: lines end in LF, the Maildir convention that Postfix, Dovecot's LDA, qmail and Exim follow and
    /// that mail readers such as mutt and s-nail expect. A message received with <c>BODY=BINARYMIME</c> keeps its bytes
    /// either way.</summary>
    public bool SaveCrlf { get; set; }
}
