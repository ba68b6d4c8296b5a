using Postbote.Core;

namespace Postbote.Routing;

/// <summary>
/// Resolves forward-paths against the local domains, mailboxes, aliases and catch-all of the configuration.
/// Used at RCPT time (to refuse unknown local users) and at delivery time (to find the Maildirs).
/// </summary>
public interface ILocalRecipients
{
    /// <summary>Classifies a forward-path.</summary>
    /// <param name="address">The forward-path; the domain-less <c>Postmaster</c> is local (RFC 5321 §4.1.1.3).</param>
    /// <returns>Whether it is local and known, local and unknown, or remote.</returns>
    RecipientKind Classify(Mailbox address);

    /// <summary>Expands a local forward-path through aliases to its final targets, <c>user@domain</c> in lower case: local
    /// mailboxes, and alias targets in other domains (forwarded).</summary>
    /// <param name="address">A forward-path that <see cref="Classify"/> called <see cref="RecipientKind.Local"/>.</param>
    /// <returns>The distinct final mailboxes; empty when the address is not local after all.</returns>
    IReadOnlyList<string> Expand(Mailbox address);
}
