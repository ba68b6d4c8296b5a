using Postbote.Routing;

namespace Postbote.Tests.Routing;

/// <summary>A configuration that would accept a recipient at RCPT and then drop its mail is refused at start-up.</summary>
public class LocalRecipientOptionsTests
{
    private static LocalRecipientOptions Options(Action<LocalRecipientOptions> change)
    {
        var o = new LocalRecipientOptions
        {
            Domains = ["a.test"],
            Mailboxes = ["alice@a.test", "bob@a.test"],
            Aliases = new Dictionary<string, IList<string>>(StringComparer.OrdinalIgnoreCase) { ["info@a.test"] = ["alice@a.test", "bob@a.test"] },
        };
        change(o);
        return o;
    }

    [Fact]
    public void ConsistentConfigurationPasses() => Options(_ => { }).Validate();

    [Fact]
    public void MailboxAliasingItselfIsACopyNotALoop() =>
        Options(o => o.Aliases["alice@a.test"] = ["alice@a.test", "bob@a.test"]).Validate();

    [Fact]
    public void AnAliasMayForwardToAnotherDomain() =>
        Options(o => o.Aliases["fwd@a.test"] = ["someone@b.test", "alice@a.test"]).Validate();

    [Theory]
    [InlineData("loop", "aliases form a loop: loop1@a.test -> loop2@a.test -> loop1@a.test")]
    [InlineData("unknown-target", "alias y@a.test -> nobody@a.test: no such mailbox or alias")]
    [InlineData("foreign-mailbox", "mailbox z@b.test is not in a local domain")]
    [InlineData("foreign-catch-all", "catch_all all@b.test is not in a local domain")]
    public void InconsistenciesAreRefusedWithTheirAddresses(string kind, string message)
    {
        LocalRecipientOptions o = Options(o =>
        {
            switch (kind)
            {
                case "loop": o.Aliases["loop1@a.test"] = ["loop2@a.test"]; o.Aliases["loop2@a.test"] = ["loop1@a.test"]; break;
                case "unknown-target": o.Aliases["y@a.test"] = ["nobody@a.test"]; break;
                case "foreign-mailbox": o.Mailboxes.Add("z@b.test"); break;
                case "foreign-catch-all": o.CatchAll = "all@b.test"; break;
            }
        });
        var e = Assert.Throws<ArgumentException>(o.Validate);
        Assert.StartsWith(message, e.Message);
    }
}
