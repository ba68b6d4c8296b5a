namespace Postbote.Delivery;

/// <summary>
/// The local part of the mail system: which domains Postbote is the final destination for, their mailboxes, aliases
/// and catch-all, and where the Maildirs live. Set from the <c>[local]</c> table of the configuration.
/// </summary>
public sealed class LocalDeliveryOptions
{
    /// <summary>The local domains, compared case-insensitively and without a trailing dot. Default: <c>localhost</c>.</summary>
    public IList<string> Domains { get; set; } = new List<string> { "localhost" };

    /// <summary>The mailboxes, as <c>user@domain</c> with a local domain; compared case-insensitively.</summary>
    public IList<string> Mailboxes { get; set; } = new List<string>();

    /// <summary>Aliases: an address <c>user@domain</c> (local domain) mapped to one or more local mailboxes. Expanded
    /// recursively up to 8 levels.</summary>
    public IDictionary<string, IList<string>> Aliases { get; set; } = new Dictionary<string, IList<string>>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The mailbox (<c>user@domain</c>) that receives mail for unknown users of every local domain, or
    /// <c>null</c> to refuse unknown users with 550 5.1.1.</summary>
    public string? CatchAll { get; set; }

    /// <summary>The root of the Maildirs: mailbox <c>user@domain</c> is the Maildir <c>{MaildirRoot}/domain/user/</c>.
    /// Default: <c>{data_dir}/mail</c>.</summary>
    public string MaildirRoot { get; set; } = "data/mail";
}
