namespace Postbote.Routing;

/// <summary>Where mail for one forward-path goes: the routing decision that <see cref="RecipientRouter"/> makes and
/// delivery carries out.</summary>
/// <param name="Kind">Local (deliver into <paramref name="Mailboxes"/>), unknown local (no such mailbox: a permanent
/// failure), or remote (another server's; relaying is a later feature).</param>
/// <param name="Mailboxes">For a local route, the distinct final mailboxes, <c>user@domain</c> in lower case, at least
/// one; empty otherwise.</param>
public sealed record Route(RecipientKind Kind, IReadOnlyList<string> Mailboxes)
{
    /// <summary>The route of a forward-path in a local domain that names no mailbox.</summary>
    public static Route UnknownLocal { get; } = new(RecipientKind.UnknownLocal, []);

    /// <summary>The route of a forward-path in another domain.</summary>
    public static Route Remote { get; } = new(RecipientKind.Remote, []);
}
