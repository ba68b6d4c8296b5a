using Postbote.Core;

namespace Postbote.Routing;

/// <summary>
/// Decides the <see cref="Route"/> of each forward-path from the local recipient tables: a local one is expanded through
/// aliases, catch-all and postmaster to its final mailboxes; one that expands to none counts as unknown. Delivery
/// carries the decision out; relaying (next hops, transports per domain) will add its routes here.
/// </summary>
public sealed class RecipientRouter
{
    private readonly ILocalRecipients _local;

    /// <summary>Creates the router.</summary>
    /// <param name="local">The local domains, mailboxes and aliases.</param>
    /// <exception cref="ArgumentNullException"><paramref name="local"/> is <c>null</c>.</exception>
    public RecipientRouter(ILocalRecipients local)
    {
        ArgumentNullException.ThrowIfNull(local);
        _local = local;
    }

    /// <summary>The route of one forward-path.</summary>
    /// <param name="address">The forward-path.</param>
    /// <returns><see cref="Route.Remote"/>, <see cref="Route.UnknownLocal"/>, or a local route with its mailboxes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is <c>null</c>.</exception>
    public Route Resolve(Mailbox address)
    {
        ArgumentNullException.ThrowIfNull(address);
        switch (_local.Classify(address))
        {
            case RecipientKind.Remote:
                return Route.Remote;
            case RecipientKind.UnknownLocal:
                return Route.UnknownLocal;
        }
        IReadOnlyList<string> mailboxes = _local.Expand(address);
        return mailboxes.Count == 0 ? Route.UnknownLocal : new Route(RecipientKind.Local, mailboxes);
    }
}
