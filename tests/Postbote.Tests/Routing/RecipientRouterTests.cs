using Postbote.Core;
using Postbote.Routing;

namespace Postbote.Tests.Routing;

public class RecipientRouterTests
{
    private static readonly RecipientRouter Router = new(new LocalRecipients(new LocalRecipientOptions
    {
        Domains = ["example.com"],
        Mailboxes = ["alice@example.com", "bob@example.com"],
        Aliases = new Dictionary<string, IList<string>>(StringComparer.OrdinalIgnoreCase)
        {
            ["team@example.com"] = ["alice@example.com", "bob@example.com"],
        },
    }));

    [Fact]
    public void AliasRoutesToEachMailbox()
    {
        Route route = Router.Resolve(new Mailbox("Team", "Example.com"));
        Assert.Equal(RecipientKind.Local, route.Kind);
        Assert.Equal(["alice@example.com", "bob@example.com"], route.Mailboxes);
    }

    [Fact]
    public void UnknownLocalAndRemoteHaveNoMailboxes()
    {
        Assert.Same(Route.UnknownLocal, Router.Resolve(new Mailbox("nobody", "example.com")));
        Assert.Same(Route.Remote, Router.Resolve(new Mailbox("alice", "example.org")));
    }

    [Fact]
    public void LocalThatExpandsToNothingIsUnknown() =>
        Assert.Same(Route.UnknownLocal, new RecipientRouter(new LocalButEmpty()).Resolve(new Mailbox("x", "example.com")));

    private sealed class LocalButEmpty : ILocalRecipients
    {
        public RecipientKind Classify(Mailbox address) => RecipientKind.Local;

        public IReadOnlyList<string> Expand(Mailbox address) => [];
    }
}
