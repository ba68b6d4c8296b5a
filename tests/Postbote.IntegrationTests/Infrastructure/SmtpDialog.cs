using System.Text;
using System.Text.RegularExpressions;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>Steps of a mail transaction over a <see cref="SmtpConnection"/>, with assertions that show the transcript.</summary>
public static partial class SmtpDialog
{
    /// <summary>The queue id in a "250 2.0.0 Ok: queued as ID" reply, or null.</summary>
    public static string? QueueId(string reply)
    {
        var match = QueuedAs().Match(reply);
        return match.Success ? match.Groups[1].Value : null;
    }

    /// <summary>Sends <paramref name="command"/> and asserts the reply matches <paramref name="expected"/> (a regex).</summary>
    public static async Task<SmtpResponse> ExpectAsync(SmtpConnection smtp, string command, string expected, string? context = null)
    {
        var reply = await smtp.CommandAsync(command);
        Assert.True(
            Regex.IsMatch(reply.Text, expected),
            $"{command.Trim()}: expected /{expected}/, got {reply}\n--- transcript ---\n{smtp.Transcript}{context}");
        return reply;
    }

    /// <summary>EHLO, MAIL, one RCPT per recipient, DATA with <paramref name="content"/>; returns the final reply.</summary>
    public static async Task<SmtpResponse> SendMailAsync(
        SmtpConnection smtp,
        string from,
        IEnumerable<string> recipients,
        byte[] content,
        bool ehlo = true,
        string? context = null)
    {
        if (ehlo)
        {
            await ExpectAsync(smtp, "EHLO client.test", "^250", context);
        }

        await ExpectAsync(smtp, $"MAIL FROM:<{from}>", "^250", context);
        foreach (var rcpt in recipients)
        {
            await ExpectAsync(smtp, $"RCPT TO:<{rcpt}>", "^250", context);
        }

        await ExpectAsync(smtp, "DATA", "^354", context);
        return await smtp.SendDataAsync(content);
    }

    /// <summary>A small message with a unique marker in Subject, Message-Id and body, ending with CRLF.</summary>
    public static byte[] SampleMessage(string marker, string from = "a@example.org", string to = "rcpt@example.com")
    {
        var text = new StringBuilder()
            .Append($"From: <{from}>\r\n")
            .Append($"To: <{to}>\r\n")
            .Append($"Subject: {marker}\r\n")
            .Append($"Message-Id: <{marker}@client.test>\r\n")
            .Append("Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n")
            .Append("\r\n")
            .Append($"body of {marker}\r\n")
            .Append("\r\n")
            .Append(".a line that starts with a dot\r\n")
            .Append("..two dots\r\n")
            .Append(" leading space, trailing space \r\n")
            .Append("tab\there\r\n")
            .Append("last line\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>A marker unique to this test run.</summary>
    public static string NewMarker(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..16]}";

    [GeneratedRegex(@"queued as <?([A-Za-z0-9._+/=-]+)>?")]
    private static partial Regex QueuedAs();
}
