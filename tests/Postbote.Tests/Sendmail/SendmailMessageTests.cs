using System.Text;
using Postbote.Host.Sendmail;

namespace Postbote.Tests.Sendmail;

/// <summary>sendmail(8)'s command line as cron, mail(1), git send-email and PHP pass it, and the message it makes of
/// standard input.</summary>
public sealed class SendmailMessageTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(new[] { "-t", "-i" }, true, true, null, new string[0])]
    [InlineData(new[] { "-oi", "-f", "root@example.com", "bob@example.net" }, false, true, "root@example.com", new[] { "bob@example.net" })]
    [InlineData(new[] { "-fwww-data@example.com", "-t" }, true, false, "www-data@example.com", new string[0])] // PHP's sendmail_path -f
    [InlineData(new[] { "-f", "<>", "--", "-odd@example.net" }, false, false, "", new[] { "-odd@example.net" })]
    [InlineData(new[] { "-i", "-oem", "-odi", "-v", "alice" }, false, true, null, new[] { "alice" })]
    public void OptionsAreReadAsSendmailReadsThem(string[] args, bool fromHeaders, bool ignoreDots, string? sender, string[] recipients)
    {
        SendmailArguments a = SendmailArguments.Parse(args);

        Assert.Equal(SendmailMode.Send, a.Mode);
        Assert.Equal(fromHeaders, a.RecipientsFromHeaders);
        Assert.Equal(ignoreDots, a.IgnoreDots);
        Assert.Equal(sender, a.Sender);
        Assert.Equal(recipients, a.Recipients);
    }

    [Fact]
    public void ModesConfigAndFullName()
    {
        Assert.Equal(SendmailMode.ListQueue, SendmailArguments.Parse(["-bp"]).Mode);
        Assert.Equal(SendmailMode.ListQueue, SendmailArguments.Parse([], mailq: true).Mode);
        Assert.Equal(SendmailMode.SmtpOnStandardInput, SendmailArguments.Parse(["-bs"]).Mode);
        Assert.Equal(SendmailMode.Flush, SendmailArguments.Parse(["-q"]).Mode);
        SendmailArguments a = SendmailArguments.Parse(["--config", "/etc/p.toml", "-F", "Cron Daemon", "x@y"]);
        Assert.Equal("/etc/p.toml", a.ConfigFile);
        Assert.Equal("Cron Daemon", a.FullName);
        Assert.Equal("-f needs a value", Assert.Throws<FormatException>(() => SendmailArguments.Parse(["-f"])).Message);
        Assert.Equal("-bx: not supported (-bm, -bp and -bs are)", Assert.Throws<FormatException>(() => SendmailArguments.Parse(["-bx"])).Message);
        Assert.Equal("-Z: unknown option", Assert.Throws<FormatException>(() => SendmailArguments.Parse(["-Z"])).Message);
    }

    [Fact]
    public void DashTTakesToCcAndBccAndRemovesBcc()
    {
        var a = SendmailArguments.Parse(["-t", "-i", "extra@example.net"]);
        byte[] input = Encoding.UTF8.GetBytes("From: me@example.com\nTo: A <a@example.net>, b@example.net\nCc: c\nBcc: hidden@example.net,\n more@example.net\nSubject: s\n\nbody\n.\nend\n");

        PickupFile m = SendmailMessage.Build(input, a, "me@example.com", "example.com", Now);

        Assert.Equal(["extra@example.net", "a@example.net", "b@example.net", "c@example.com", "hidden@example.net", "more@example.net"], m.Recipients);
        string text = Encoding.UTF8.GetString(m.Message);
        Assert.StartsWith("Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <", text, StringComparison.Ordinal);
        Assert.EndsWith("@example.com>\r\nFrom: me@example.com\r\nTo: A <a@example.net>, b@example.net\r\nCc: c\r\nSubject: s\r\n\r\nbody\r\n.\r\nend\r\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hidden", text, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutDashIASingleDotEndsTheMessageAndAFromIsAddedWithTheFullName()
    {
        var a = SendmailArguments.Parse(["-F", "Cron Daemon", "root"]);

        PickupFile m = SendmailMessage.Build("Subject: x\n\nline\n.\nnever sent\n"u8, a, "root@example.com", "example.com", Now);

        Assert.Equal(["root@example.com"], m.Recipients);
        string text = Encoding.UTF8.GetString(m.Message);
        Assert.StartsWith("From: Cron Daemon <root@example.com>\r\nDate: ", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\nSubject: x\r\n\r\nline\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void NoRecipientIsRefused() =>
        Assert.Equal("no recipient: none on the command line and none in To, Cc or Bcc",
            Assert.Throws<FormatException>(() => SendmailMessage.Build("Subject: x\n\nbody\n"u8, SendmailArguments.Parse(["-t"]), "a@b", "b", Now)).Message);

    [Fact]
    public void DataIsDotStuffedAndEndsWithTheFinalDot() =>
        Assert.Equal("..a\r\nb\r\n..\r\n.\r\n"u8.ToArray(), SmtpSubmission.DotStuff(".a\r\nb\r\n.\r\n"u8));

    [Fact]
    public void APickupFileReadsBackAsWritten()
    {
        string dir = Directory.CreateTempSubdirectory("postbote-pickup-").FullName;
        try
        {
            var file = new PickupFile("", ["a@example.com", "b@example.net"], "Subject: x\r\n\r\nbody\r\n"u8.ToArray());
            string path = file.Write(dir);
            Assert.DoesNotContain(Directory.GetFiles(dir), f => Path.GetFileName(f).StartsWith('.'));
            PickupFile read = PickupFile.Parse(File.ReadAllBytes(path));
            Assert.Equal(file.Sender, read.Sender);
            Assert.Equal(file.Recipients, read.Recipients);
            Assert.Equal(file.Message, read.Message);
            Assert.Equal("the first line is not 'postbote-pickup 1'", Assert.Throws<FormatException>(() => PickupFile.Parse("garbage\n\n"u8.ToArray())).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
