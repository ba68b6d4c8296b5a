using Postbote.Core;
using Postbote.Routing;

namespace Postbote.Tests.Routing;

public class LocalRecipientsTests
{
    private static LocalRecipients Table(string? catchAll = null, bool postmasterMailbox = false)
    {
        var options = new LocalRecipientOptions
        {
            Domains = ["Example.COM", "example.net.", "shop.example"],
            Mailboxes = ["alice@example.com", "Bob@Example.com", "carol@example.net", "\"john doe\"@example.com"],
            CatchAll = catchAll,
        };
        if (postmasterMailbox) options.Mailboxes.Add("postmaster@example.com");
        options.Aliases["sales@example.com"] = ["alice@example.com", "bob@example.com"];
        options.Aliases["team@example.net"] = ["sales@example.com", "carol@example.net", "alice@example.com"];
        options.Aliases["loop1@example.com"] = ["loop2@example.com"];
        options.Aliases["loop2@example.com"] = ["loop1@example.com", "carol@example.net"];
        options.Aliases["self@example.com"] = ["self@example.com"];
        options.Aliases["keep@example.com"] = ["keep@example.com", "alice@example.com"];
        options.Mailboxes.Add("keep@example.com");
        options.Aliases["outside@example.com"] = ["someone@remote.example", "alice@example.com"];
        for (int i = 0; i < 12; i++) options.Aliases[$"d{i}@example.com"] = [$"d{i + 1}@example.com"];
        options.Aliases["d12@example.com"] = ["alice@example.com"];
        options.Aliases["d3x@example.com"] = ["d5@example.com"];
        return new LocalRecipients(options);
    }

    [Theory]
    // Local domains: case-insensitive, trailing dot ignored (RFC 5321 §2.4: domains are case-insensitive).
    [InlineData("alice", "example.com", RecipientKind.Local)]
    [InlineData("ALICE", "EXAMPLE.COM", RecipientKind.Local)]
    [InlineData("alice", "example.com.", RecipientKind.Local)]
    [InlineData("bob", "example.com", RecipientKind.Local)]
    [InlineData("carol", "Example.Net", RecipientKind.Local)]
    [InlineData("\"john doe\"", "example.com", RecipientKind.Local)]
    [InlineData("\"alice\"", "example.com", RecipientKind.Local)]
    [InlineData("sales", "example.com", RecipientKind.Local)]
    [InlineData("team", "example.net", RecipientKind.Local)]
    [InlineData("nobody", "example.com", RecipientKind.UnknownLocal)]
    [InlineData("alice", "example.net", RecipientKind.UnknownLocal)]
    // RFC 5321 §4.5.1: postmaster is always accepted, in every local domain, case-insensitively.
    [InlineData("postmaster", "example.com", RecipientKind.Local)]
    [InlineData("PostMaster", "shop.example", RecipientKind.Local)]
    [InlineData("Postmaster", "", RecipientKind.Local)]
    // Not ours.
    [InlineData("alice", "remote.example", RecipientKind.Remote)]
    [InlineData("alice", "example.com.evil", RecipientKind.Remote)]
    [InlineData("alice", "[192.0.2.1]", RecipientKind.Remote)]
    [InlineData("postmaster", "[IPv6:2001:db8::1]", RecipientKind.Remote)]
    public void Classify(string local, string domain, RecipientKind expected) =>
        Assert.Equal(expected, Table().Classify(new Mailbox(local, domain)));

    [Theory]
    [InlineData("nobody", "example.com", RecipientKind.Local)]
    [InlineData("nobody", "shop.example", RecipientKind.Local)]
    [InlineData("nobody", "remote.example", RecipientKind.Remote)]
    public void CatchAllMakesUnknownUsersLocal(string local, string domain, RecipientKind expected) =>
        Assert.Equal(expected, Table(catchAll: "carol@example.net").Classify(new Mailbox(local, domain)));

    [Theory]
    [InlineData("alice", "example.com", "alice@example.com")]
    [InlineData("ALICE", "Example.Com.", "alice@example.com")]
    [InlineData("\"john doe\"", "example.com", "john doe@example.com")]
    [InlineData("sales", "example.com", "alice@example.com,bob@example.com")]
    [InlineData("team", "example.net", "alice@example.com,bob@example.com,carol@example.net")]
    [InlineData("loop1", "example.com", "carol@example.net")]
    [InlineData("self", "example.com", "")]
    [InlineData("keep", "example.com", "keep@example.com,alice@example.com")]
    [InlineData("outside", "example.com", "someone@remote.example,alice@example.com")]
    [InlineData("d5", "example.com", "alice@example.com")]
    [InlineData("d0", "example.com", "")]
    [InlineData("nobody", "example.com", "")]
    [InlineData("alice", "remote.example", "")]
    [InlineData("alice", "[192.0.2.1]", "")]
    public void Expand(string local, string domain, string expected) =>
        Assert.Equal(expected, string.Join(",", Table().Expand(new Mailbox(local, domain))));

    [Theory]
    // Without a postmaster mailbox or catch-all: an implicit mailbox postmaster@<that domain>.
    [InlineData(null, false, "Postmaster", "", "postmaster@example.com")]
    [InlineData(null, false, "POSTMASTER", "shop.example", "postmaster@shop.example")]
    // A postmaster mailbox of the first domain receives every domain's postmaster.
    [InlineData(null, true, "postmaster", "shop.example", "postmaster@example.com")]
    [InlineData(null, true, "Postmaster", "", "postmaster@example.com")]
    [InlineData("carol@example.net", true, "postmaster", "example.net", "postmaster@example.com")]
    // Otherwise the catch-all.
    [InlineData("carol@example.net", false, "postmaster", "shop.example", "carol@example.net")]
    [InlineData("sales@example.com", false, "Postmaster", "", "alice@example.com,bob@example.com")]
    [InlineData("carol@example.net", false, "unknown", "shop.example", "carol@example.net")]
    public void PostmasterAndCatchAll(string? catchAll, bool postmasterMailbox, string local, string domain, string expected) =>
        Assert.Equal(expected, string.Join(",", Table(catchAll, postmasterMailbox).Expand(new Mailbox(local, domain))));

    [Fact]
    public void DomainlessPostmasterWithoutLocalDomainsIsRemote()
    {
        var table = new LocalRecipients(new LocalRecipientOptions { Domains = [] });
        Assert.Equal(RecipientKind.Remote, table.Classify(new Mailbox("Postmaster", "")));
        Assert.Empty(table.Expand(new Mailbox("Postmaster", "")));
    }

    [Fact]
    public void MalformedMailboxIsRefusedAtConstruction() =>
        Assert.Throws<ArgumentException>(() => new LocalRecipients(new LocalRecipientOptions { Mailboxes = ["no-at-sign"] }));
}
