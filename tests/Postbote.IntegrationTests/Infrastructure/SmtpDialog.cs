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

    /// <summary>EHLO (unless <paramref name="ehlo"/> is false), MAIL, one RCPT per recipient and DATA, each asserted 2xx/354.</summary>
    public static async Task BeginDataAsync(
        SmtpConnection smtp,
        string from,
        IEnumerable<string> recipients,
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
        await BeginDataAsync(smtp, from, recipients, ehlo, context);
        return await smtp.SendDataAsync(content);
    }

    /// <summary>
    /// On one session, sends <paramref name="count"/> sample messages from a@example.org to <paramref name="mailbox"/>,
    /// each with the marker <paramref name="marker"/> makes of its index, and asserts each got 250.
    /// </summary>
    /// <returns>The markers in the order sent.</returns>
    public static async Task<List<string>> SendSamplesAsync(PostboteServer server, string mailbox, int count, Func<int, string> marker)
    {
        var markers = new List<string>();
        using var smtp = await SmtpConnection.ConnectAsync(server.Port);
        await ExpectAsync(smtp, "EHLO client.test", "^250");
        for (int i = 0; i < count; i++)
        {
            string m = marker(i);
            var reply = await SendMailAsync(smtp, "a@example.org", [mailbox], SampleMessage(m), ehlo: false);
            Assert.True(reply.Code == 250, $"{reply}\n{server.Diagnostics()}");
            markers.Add(m);
        }

        return markers;
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
