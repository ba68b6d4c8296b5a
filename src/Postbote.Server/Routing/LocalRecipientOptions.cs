namespace Postbote.Routing;

/// <summary>
/// Which domains Postbote is the final destination for, their mailboxes, aliases and catch-all: the recipient tables
/// of the <c>[local]</c> table of the configuration, read by <see cref="LocalRecipients"/>. The Maildir settings of the
/// same table are in <c>Postbote.Delivery.LocalDeliveryOptions</c>, which extends this class.
/// </summary>
public class LocalRecipientOptions
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

    /// <summary>
    /// Checks that the local part of the configuration is consistent, so that no recipient is accepted at RCPT and then
    /// dropped: every mailbox, alias and the catch-all belong to a local domain; every alias target in a local domain is a
    /// configured mailbox or alias (a target in another domain is forwarded, relayed); aliases form no loop (an address
    /// that is both mailbox and alias may name itself).
    /// </summary>
    /// <exception cref="ArgumentException">The first inconsistency found; the message names the addresses.</exception>
    public void Validate()
    {
        var domains = new HashSet<string>(Domains.Select(Normalize), StringComparer.OrdinalIgnoreCase);
        var mailboxes = new HashSet<string>(Mailboxes.Select(Normalize), StringComparer.OrdinalIgnoreCase);
        var aliases = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (alias, targets) in Aliases) aliases[Normalize(alias)] = targets.Select(Normalize).ToList();
        string DomainOf(string address) => address[(address.LastIndexOf('@') + 1)..];
        foreach (string m in mailboxes)
            if (!domains.Contains(DomainOf(m))) throw new ArgumentException($"mailbox {m} is not in a local domain (local.domains)");
        if (CatchAll is { } catchAll && !domains.Contains(DomainOf(Normalize(catchAll))))
            throw new ArgumentException($"catch_all {catchAll} is not in a local domain (local.domains)");
        foreach (var (alias, targets) in aliases)
        {
            if (!domains.Contains(DomainOf(alias))) throw new ArgumentException($"alias {alias} is not in a local domain (local.domains)");
            foreach (string t in targets)
            {
                if (!domains.Contains(DomainOf(t))) continue; // forwarded to another domain: relayed
                bool postmaster = t.StartsWith("postmaster@", StringComparison.OrdinalIgnoreCase);
                if (!mailboxes.Contains(t) && !aliases.ContainsKey(t) && !postmaster && !string.Equals(t, CatchAll, StringComparison.OrdinalIgnoreCase))
                    throw new ArgumentException($"alias {alias} -> {t}: no such mailbox or alias (add it to local.mailboxes)");
            }
        }
        // Loops: depth-first over alias -> alias edges; a mailbox naming itself as alias is a copy, not a loop.
        var state = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase); // 1 visiting, 2 done
        foreach (string start in aliases.Keys) Visit(start, new List<string>());

        void Visit(string node, List<string> path)
        {
            if (state.TryGetValue(node, out int s) && s == 2) return;
            if (s == 1) throw new ArgumentException("aliases form a loop: " + string.Join(" -> ", path.SkipWhile(p => !string.Equals(p, node, StringComparison.OrdinalIgnoreCase)).Append(node)));
            state[node] = 1;
            path.Add(node);
            foreach (string t in aliases[node])
            {
                if (!aliases.ContainsKey(t)) continue;
                if (string.Equals(t, node, StringComparison.OrdinalIgnoreCase) && mailboxes.Contains(t)) continue;
                Visit(t, path);
            }
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
        }
    }

    private static string Normalize(string address)
    {
        int at = address.LastIndexOf('@');
        return at < 0 ? address.ToLowerInvariant() : address[..at].ToLowerInvariant() + "@" + address[(at + 1)..].TrimEnd('.').ToLowerInvariant();
    }
}
