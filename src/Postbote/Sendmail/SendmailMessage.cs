using System.Globalization;
using System.Text;
using MimeKit;
using MimeKit.Utils;

namespace Postbote.Host.Sendmail;

/// <summary>
/// Turns what a program writes to <c>sendmail</c> into a message and its envelope, as Postfix's sendmail and cleanup do:
/// LF or CRLF line ends become CRLF; without <c>-i</c> a line with a single dot ends the input; Bcc headers are removed
/// (RFC 5322 §3.6.3); a missing From (<c>"Full Name" &lt;sender&gt;</c>), Date and Message-ID are added (RFC 5322 §3.6:
/// "The only required header fields are the origination date field and the originator address field(s)"); with
/// <c>-t</c> the addresses of To, Cc and Bcc become recipients too. Addresses without a domain get the local one.
/// </summary>
public static class SendmailMessage
{
    /// <summary>Builds the message.</summary>
    /// <param name="input">Standard input's bytes.</param>
    /// <param name="args">The command line.</param>
    /// <param name="sender">The envelope sender (already with its domain; empty for the null reverse-path).</param>
    /// <param name="domain">The domain for addresses without one, and for the Message-ID.</param>
    /// <param name="now">The time for the Date header.</param>
    /// <returns>The message with its envelope.</returns>
    /// <exception cref="FormatException">No recipient at all: the reason.</exception>
    public static PickupFile Build(ReadOnlySpan<byte> input, SendmailArguments args, string sender, string domain, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(args);
        var lines = new List<string>();
        string text = Encoding.UTF8.GetString(input);
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.EndsWith('\r') ? raw[..^1] : raw;
            if (!args.IgnoreDots && line == ".") break;
            lines.Add(line);
        }
        if (lines.Count > 0 && lines[^1].Length == 0 && text.EndsWith('\n')) lines.RemoveAt(lines.Count - 1);
        int headerEnd = 0;
        bool first = true;
        while (headerEnd < lines.Count && lines[headerEnd].Length > 0 && (IsField(lines[headerEnd]) || !first && lines[headerEnd][0] is ' ' or '\t'))
        {
            headerEnd++;
            first = false;
        }
        // Fields, each with its continuation lines.
        var fields = new List<List<string>>();
        for (int i = 0; i < headerEnd; i++)
        {
            if (lines[i][0] is ' ' or '\t') fields[^1].Add(lines[i]);
            else fields.Add([lines[i]]);
        }
        var recipients = new List<string>(args.Recipients.Select(r => Qualify(r.Trim(), domain)));
        if (args.RecipientsFromHeaders)
        {
            foreach (List<string> f in fields.Where(f => Name(f) is "to" or "cc" or "bcc"))
            {
                string value = string.Join(' ', f.Select(l => l.Trim()))[(f[0].IndexOf(':', StringComparison.Ordinal) + 1)..];
                if (InternetAddressList.TryParse(value, out InternetAddressList? list))
                    recipients.AddRange(list.Mailboxes.Select(m => Qualify(m.Address, domain)));
            }
        }
        recipients = recipients.Where(r => r.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (recipients.Count == 0)
            throw new FormatException(args.RecipientsFromHeaders ? "no recipient: none on the command line and none in To, Cc or Bcc" : "no recipient (give addresses, or -t to take them from the headers)");
        fields.RemoveAll(f => Name(f) == "bcc");
        var header = new List<string>();
        if (!fields.Any(f => Name(f) == "from"))
        {
            string address = sender.Length == 0 ? "MAILER-DAEMON@" + domain : sender;
            header.Add(args.FullName is { Length: > 0 } name ? $"From: {Phrase(name)} <{address}>" : $"From: <{address}>");
        }
        if (!fields.Any(f => Name(f) == "date")) header.Add("Date: " + DateUtils.FormatDate(now));
        if (!fields.Any(f => Name(f) == "message-id")) header.Add($"Message-ID: <{now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}@{domain}>");
        var message = new StringBuilder();
        foreach (string l in header.Concat(fields.SelectMany(f => f))) message.Append(l).Append("\r\n");
        message.Append("\r\n");
        foreach (string l in lines.Skip(headerEnd < lines.Count && lines[headerEnd].Length == 0 ? headerEnd + 1 : headerEnd)) message.Append(l).Append("\r\n");
        return new PickupFile(sender, recipients, Encoding.UTF8.GetBytes(message.ToString()));
    }

    /// <summary>An address with the local domain added when it has none; the null reverse-path stays empty.</summary>
    /// <param name="address">The address as given.</param>
    /// <param name="domain">The local domain.</param>
    /// <returns>user@domain.</returns>
    public static string Qualify(string address, string domain)
    {
        ArgumentNullException.ThrowIfNull(address);
        string a = address.Trim().TrimStart('<').TrimEnd('>');
        return a.Length == 0 || a.Contains('@', StringComparison.Ordinal) ? a : a + "@" + domain;
    }

    private static bool IsField(string line)
    {
        int colon = line.IndexOf(':', StringComparison.Ordinal);
        // RFC 5322 §2.2: a field name is printable US-ASCII other than colon.
        return colon > 0 && line.AsSpan(0, colon).IndexOfAnyExceptInRange('!', '~') < 0;
    }

    private static string Name(List<string> field) => field[0][..field[0].IndexOf(':', StringComparison.Ordinal)].Trim().ToLowerInvariant();

    private static string Phrase(string name) =>
        name.All(static ch => char.IsAsciiLetterOrDigit(ch) || ch == ' ') ? name
            : "\"" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
