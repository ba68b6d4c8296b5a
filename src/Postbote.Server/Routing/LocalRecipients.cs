using Postbote.Core;

namespace Postbote.Routing;

/// <summary>
/// The local recipients of <see cref="LocalRecipientOptions"/>: local domains (case-insensitive, trailing dot ignored),
/// mailboxes, aliases (expanded recursively up to <see cref="MaxAliasDepth"/> levels, loop-safe) and the catch-all.
/// <c>postmaster</c> of every local domain is always accepted (RFC 5321 §4.5.1: "Any system that includes an SMTP
/// server supporting mail relaying or delivery MUST support the reserved mailbox 'postmaster' as a case-insensitive
/// local name"), and so is the domain-less <c>&lt;Postmaster&gt;</c> (RFC 5321 §4.1.1.3), which means
/// <c>postmaster@</c> the first local domain.
/// </summary>
/// <remarks>
/// Postmaster routing, in order: a mailbox or alias <c>postmaster@domain</c> of that domain; else one of the first
/// local domain; else the catch-all; else an implicit mailbox <c>postmaster@domain</c>. Local parts are compared after
/// removing quoting (<see cref="Mailbox.UnquotedLocalPart"/>), case-insensitively. Address literals are remote.
/// The tables are copied at construction; build a new instance when the configuration changes.
/// </remarks>
public sealed class LocalRecipients : ILocalRecipients
{
    /// <summary>How deep aliases are expanded: 8 levels.</summary>
    public const int MaxAliasDepth = 8;

    private const string Postmaster = "postmaster";

    private readonly HashSet<string> _domains = new(StringComparer.Ordinal);
    private readonly HashSet<string> _mailboxes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _aliases = new(StringComparer.Ordinal);
    private readonly string? _catchAll;
    private readonly string? _firstDomain;

    /// <summary>Builds the tables from the options.</summary>
    /// <param name="options">The <c>[local]</c> configuration.</param>
    /// <exception cref="ArgumentException">A mailbox, alias or catch-all is not <c>user@domain</c>.</exception>
    /// <remarks>Addresses in the options may quote their local part (<c>"john doe"@example.com</c>); they are stored
    /// unquoted and in lower case.</remarks>
    public LocalRecipients(LocalRecipientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (string d in options.Domains)
        {
            string domain = NormalizeDomain(d);
            if (domain.Length == 0) continue;
            _firstDomain ??= domain;
            _domains.Add(domain);
        }
        foreach (string m in options.Mailboxes) _mailboxes.Add(NormalizeAddress(m, nameof(options.Mailboxes)));
        foreach (KeyValuePair<string, IList<string>> alias in options.Aliases)
        {
            string key = NormalizeAddress(alias.Key, nameof(options.Aliases));
            var targets = new List<string>(alias.Value.Count);
            foreach (string t in alias.Value) targets.Add(NormalizeAddress(t, nameof(options.Aliases)));
            _aliases[key] = targets.ToArray();
        }
        if (!string.IsNullOrWhiteSpace(options.CatchAll)) _catchAll = NormalizeAddress(options.CatchAll, nameof(options.CatchAll));
    }

    /// <summary>The first local domain, lower case, which the domain-less <c>Postmaster</c> belongs to; <c>null</c> when
    /// there is no local domain.</summary>
    public string? PrimaryDomain => _firstDomain;

    /// <inheritdoc />
    public RecipientKind Classify(Mailbox address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsDomainlessPostmaster) return _firstDomain is null ? RecipientKind.Remote : RecipientKind.Local;
        if (address.IsAddressLiteral) return RecipientKind.Remote;
        string domain = NormalizeDomain(address.Domain);
        if (!_domains.Contains(domain)) return RecipientKind.Remote;
        string local = address.UnquotedLocalPart.ToLowerInvariant();
        string key = local + "@" + domain;
        if (_mailboxes.Contains(key) || _aliases.ContainsKey(key) || local == Postmaster || _catchAll is not null)
        {
            return RecipientKind.Local;
        }
        return RecipientKind.UnknownLocal;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Expand(Mailbox address)
    {
        ArgumentNullException.ThrowIfNull(address);
        string key;
        if (address.IsDomainlessPostmaster)
        {
            if (_firstDomain is null) return [];
            key = Postmaster + "@" + _firstDomain;
        }
        else
        {
            if (address.IsAddressLiteral) return [];
            string domain = NormalizeDomain(address.Domain);
            if (!_domains.Contains(domain)) return [];
            key = address.UnquotedLocalPart.ToLowerInvariant() + "@" + domain;
        }
        var result = new List<string>(1);
        var path = new HashSet<string>(StringComparer.Ordinal);
        Resolve(key, 0, path, result, allowFallback: true);
        return result;
    }

    private void Resolve(string key, int depth, HashSet<string> path, List<string> result, bool allowFallback)
    {
        if (_aliases.TryGetValue(key, out string[]? targets) && !path.Contains(key))
        {
            if (depth >= MaxAliasDepth) return;
            path.Add(key);
            foreach (string target in targets)
            {
                if (target == key || path.Contains(target))
                {
                    // An alias that names itself (or an alias on the current path) keeps a copy only if it is also a
                    // real mailbox; otherwise the loop ends here.
                    if (_mailboxes.Contains(target)) Add(result, target);
                    continue;
                }
                Resolve(target, depth + 1, path, result, allowFallback: false);
            }
            path.Remove(key);
            return;
        }
        if (_mailboxes.Contains(key))
        {
            Add(result, key);
            return;
        }
        int at = key.LastIndexOf('@');
        string local = key[..at];
        string domain = key[(at + 1)..];
        if (!_domains.Contains(domain))
        {
            Add(result, key); // an alias target in another domain: forwarded (relayed) with the same envelope
            return;
        }
        if (local == Postmaster)
        {
            string primary = Postmaster + "@" + _firstDomain;
            if (key != primary && (_mailboxes.Contains(primary) || _aliases.ContainsKey(primary)))
            {
                Resolve(primary, depth + 1, path, result, allowFallback: false);
            }
            else if (_catchAll is not null && allowFallback)
            {
                Resolve(_catchAll, depth + 1, path, result, allowFallback: false);
            }
            else
            {
                Add(result, key); // the implicit postmaster mailbox of that domain
            }
            return;
        }
        if (allowFallback && _catchAll is not null)
        {
            Resolve(_catchAll, depth + 1, path, result, allowFallback: false);
            return;
        }
        if (!allowFallback) Add(result, key); // an alias target in a local domain is a mailbox by definition
    }

    private static void Add(List<string> result, string mailbox)
    {
        if (!result.Contains(mailbox)) result.Add(mailbox);
    }

    private static string NormalizeDomain(string domain)
    {
        ReadOnlySpan<char> d = domain.AsSpan().Trim();
        if (d.EndsWith('.')) d = d[..^1];
        return d.ToString().ToLowerInvariant();
    }

    private static string NormalizeAddress(string address, string paramName)
    {
        string a = address.Trim();
        int at = a.LastIndexOf('@');
        if (at <= 0 || at == a.Length - 1) throw new ArgumentException($"'{address}' is not user@domain.", paramName);
        string local = a[..at];
        if (local.Length >= 2 && local[0] == '"') local = new Mailbox(local, "x").UnquotedLocalPart;
        return local.ToLowerInvariant() + "@" + NormalizeDomain(a[(at + 1)..]);
    }
}
