using Postbote.Core;
using Postbote.Routing;

namespace Postbote.Host;

/// <summary>
/// The local domains, mailboxes and aliases in force, replaced as a whole when <c>postbote reload</c> re-reads the
/// configuration: sessions and deliveries that ask after the swap see the new table, none sees half of one.
/// </summary>
public sealed class ReloadableLocalRecipients : ILocalRecipients
{
    private volatile ILocalRecipients _current;

    /// <summary>Creates the holder.</summary>
    /// <param name="initial">The table at start.</param>
    public ReloadableLocalRecipients(ILocalRecipients initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _current = initial;
    }

    /// <summary>Puts a new table in force.</summary>
    /// <param name="next">The table read from the new configuration.</param>
    public void Replace(ILocalRecipients next)
    {
        ArgumentNullException.ThrowIfNull(next);
        _current = next;
    }

    /// <summary>As <see cref="ILocalRecipients.Classify"/> of the table in force.</summary>
    /// <param name="address">The recipient.</param>
    /// <returns>Its kind.</returns>
    public RecipientKind Classify(Mailbox address) => _current.Classify(address);

    /// <summary>As <see cref="ILocalRecipients.Expand"/> of the table in force.</summary>
    /// <param name="address">The recipient.</param>
    /// <returns>The mailboxes it stands for.</returns>
    public IReadOnlyList<string> Expand(Mailbox address) => _current.Expand(address);
}
