namespace Postbote.MailStore;

/// <summary>One message of a maildrop snapshot.</summary>
/// <param name="UniqueName">Its Maildir base name: the file name up to the info separator <c>:</c> (with the
/// <c>,S=</c> and <c>,W=</c> fields). Stable while the message exists, whatever its flags or folder; the POP3 UIDL
/// (RFC 1939 §7), the same as Dovecot's <c>pop3_uidl_format = %f</c> (or <c>%g</c>) gives for the same file.</param>
/// <param name="Size">Its size with CRLF line ends, in octets: what RETR sends before dot-stuffing, and what LIST
/// announces (RFC 1939 §5, "the exact size of the message in octets"). The <c>,W=</c> field when the name has one, else
/// counted from the file.</param>
public sealed record MaildropMessage(string UniqueName, long Size);
