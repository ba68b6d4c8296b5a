using System.Text;
using Postbote.Protocol.Smtp;

namespace Postbote.Tests.Protocol;

/// <summary>RFC 5321 §4.1.1 verbs, case-insensitive (§2.4), with the widespread <c>MAIL FROM: &lt;a&gt;</c> leniency.</summary>
public class SmtpCommandParserTests
{
    [Theory]
    [InlineData("EHLO client.example.org", SmtpVerb.Ehlo, "client.example.org")]
    [InlineData("ehlo client.example.org", SmtpVerb.Ehlo, "client.example.org")]
    [InlineData("HELO x", SmtpVerb.Helo, "x")]
    [InlineData("MAIL FROM:<a@b.example>", SmtpVerb.Mail, "<a@b.example>")]
    [InlineData("mail from:<a@b.example> SIZE=10", SmtpVerb.Mail, "<a@b.example> SIZE=10")]
    [InlineData("MAIL FROM: <a@b.example>", SmtpVerb.Mail, "<a@b.example>")]
    [InlineData("RCPT TO:<rcpt@example.com>", SmtpVerb.Rcpt, "<rcpt@example.com>")]
    [InlineData("Rcpt To: <rcpt@example.com>  ", SmtpVerb.Rcpt, "<rcpt@example.com>")]
    [InlineData("DATA", SmtpVerb.Data, "")]
    [InlineData("BDAT 100 LAST", SmtpVerb.Bdat, "100 LAST")]
    [InlineData("RSET", SmtpVerb.Rset, "")]
    [InlineData("NOOP anything", SmtpVerb.Noop, "anything")]
    [InlineData("QUIT", SmtpVerb.Quit, "")]
    [InlineData("VRFY alice", SmtpVerb.Vrfy, "alice")]
    [InlineData("EXPN list", SmtpVerb.Expn, "list")]
    [InlineData("HELP", SmtpVerb.Help, "")]
    [InlineData("STARTTLS", SmtpVerb.StartTls, "")]
    [InlineData("AUTH PLAIN", SmtpVerb.Auth, "PLAIN")]
    [InlineData("XYZZY", SmtpVerb.Unknown, "")]
    [InlineData("MAILX FROM:<a@b>", SmtpVerb.Unknown, "FROM:<a@b>")]
    [InlineData("", SmtpVerb.Unknown, "")]
    public void VerbsAndArguments(string line, SmtpVerb verb, string args)
    {
        Assert.Equal(verb, SmtpCommandParser.ParseVerb(Encoding.ASCII.GetBytes(line), out var a));
        Assert.Equal(args, Encoding.ASCII.GetString(a));
    }

    [Theory]
    [InlineData("MAIL FROM:<a@b>", true)]
    [InlineData("MAIL <a@b>", false)]
    [InlineData("MAIL TO:<a@b>", false)]
    [InlineData("RCPT TO:<a@b>", true)]
    [InlineData("RCPT FROM:<a@b>", false)]
    public void MailAndRcptNeedTheirKeyword(string line, bool ok)
    {
        SmtpVerb verb = SmtpCommandParser.ParseVerb(Encoding.ASCII.GetBytes(line), out _);
        Assert.Equal(ok, SmtpCommandParser.HasPathPrefix(Encoding.ASCII.GetBytes(line), verb));
    }
}
