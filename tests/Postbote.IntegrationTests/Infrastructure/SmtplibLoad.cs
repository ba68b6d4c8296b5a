using System.Globalization;
using System.Text;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// Prepared messages for the authentication checks (the zones of the authentication tests: auth.test, other.test), sent by Python's smtplib
/// from several sessions at once (Scripts/smtplib_load.py), with every outcome recorded as it happens; and the check of
/// what was delivered: exactly one copy of each acknowledged message, in the inbox or in <c>.Junk</c>, with one
/// Authentication-Results field of ours, the forged one gone and every other byte as sent.
/// </summary>
public sealed class SmtplibLoad : IDisposable
{
    /// <summary>The forged field: claims our authserv-id (mx.test), so RFC 8601 §5 has it removed.</summary>
    public const string ForgedField = "Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=ceo@pass.auth.test;\r\n\tdmarc=pass header.from=pass.auth.test\r\n";

    /// <summary>Another ADMD's field, which stays.</summary>
    public const string ForeignField = "Authentication-Results: mx.elsewhere.test; dkim=pass header.d=elsewhere.test\r\n";

    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Scripts", "smtplib_load.py");

    private SmtplibLoad(string runId, string folder, IReadOnlyList<Message> messages)
    {
        RunId = runId;
        Folder = folder;
        Messages = messages;
    }

    /// <summary>One prepared message.</summary>
    /// <param name="Id">Its Message-Id local part and Subject.</param>
    /// <param name="MailFrom">The reverse-path.</param>
    /// <param name="Forged">Whether it carries <see cref="ForgedField"/>.</param>
    /// <param name="Large">Whether it is over 256 KiB (its body goes to its own file in the spool).</param>
    /// <param name="Junk">Whether DMARC p=quarantine files it into <c>.Junk</c>.</param>
    /// <param name="Expected">The bytes that must follow our Received field in the delivered copy.</param>
    public sealed record Message(string Id, string MailFrom, bool Forged, bool Large, bool Junk, byte[] Expected);

    /// <summary>The prefix of every message ID of this load.</summary>
    public string RunId { get; }

    /// <summary>The folder with manifest.txt and the message files.</summary>
    public string Folder { get; }

    /// <summary>Where the script records outcomes.</summary>
    public string OutcomesPath => Path.Combine(Folder, "outcomes.txt");

    /// <summary>The messages, in manifest order.</summary>
    public IReadOnlyList<Message> Messages { get; }

    /// <summary>Writes <paramref name="count"/> messages; <paramref name="kind"/> says per index whether it is forged, large,
    /// junk.</summary>
    public static SmtplibLoad Prepare(string runId, int count, Func<int, (bool Forged, bool Large, bool Junk)> kind)
    {
        string folder = Directory.CreateTempSubdirectory("postbote-load-").FullName;
        var messages = new List<Message>(count);
        var manifest = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            var (forged, large, junk) = kind(i);
            string id = $"{runId}-{i:D4}";
            string mailFrom = junk ? "bounce@other.test" : "a@pass.auth.test";
            var head = new StringBuilder();
            if (forged) head.Append(ForgedField).Append(ForeignField);
            head.Append(CultureInfo.InvariantCulture, $"From: <a@{(junk ? "quarantine" : "pass")}.auth.test>\r\nTo: <rcpt@example.com>\r\n");
            head.Append(CultureInfo.InvariantCulture, $"Subject: {id}\r\nMessage-Id: <{id}@load.client.test>\r\n\r\n");
            var body = new StringBuilder();
            int lines = large ? 4800 : 20;
            for (int n = 0; n < lines; n++) body.Append(CultureInfo.InvariantCulture, $"{id} line {n:D5} 0123456789abcdefghijklmnopqrstuvwxyz\r\n");
            string sent = head.ToString() + body;
            File.WriteAllBytes(Path.Combine(folder, id + ".eml"), Encoding.ASCII.GetBytes(sent));
            string expected = forged ? sent[ForgedField.Length..] : sent;
            messages.Add(new Message(id, mailFrom, forged, large, junk, Encoding.ASCII.GetBytes(expected)));
            manifest.Append(CultureInfo.InvariantCulture, $"{id} {mailFrom} rcpt@example.com\n");
        }
        File.WriteAllText(Path.Combine(folder, "manifest.txt"), manifest.ToString());
        return new SmtplibLoad(runId, folder, messages);
    }

    /// <summary>Runs the script: <paramref name="sessions"/> sessions, at most <paramref name="maxDuration"/>; with
    /// <paramref name="waitFor"/> the sessions connect first and send once that file exists.</summary>
    public Task<ExternalProcess.Result> RunAsync(int port, int sessions, TimeSpan maxDuration, string source = "127.0.0.1", string? waitFor = null)
    {
        var args = new List<string>
        {
            Script, port.ToString(CultureInfo.InvariantCulture), Folder, sessions.ToString(CultureInfo.InvariantCulture),
            maxDuration.TotalSeconds.ToString(CultureInfo.InvariantCulture), OutcomesPath, source,
        };
        if (waitFor is not null) args.AddRange(["--wait-for", waitFor]);
        return ExternalProcess.RunAsync("/usr/bin/python3", args, maxDuration + TimeSpan.FromSeconds(60));
    }

    /// <summary>The last line recorded per message: <c>indoubt</c>, <c>ack 250 …</c> or <c>refused CODE …</c>.</summary>
    public Dictionary<string, string> Outcomes()
    {
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(OutcomesPath)) return last;
        foreach (string line in File.ReadAllLines(OutcomesPath))
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || line.StartsWith("- ", StringComparison.Ordinal)) continue;
            last[line[..space]] = line[(space + 1)..];
        }
        return last;
    }

    /// <summary>How many messages were acknowledged so far.</summary>
    public int Acknowledged() => Outcomes().Values.Count(v => v.StartsWith("ack ", StringComparison.Ordinal));

    /// <summary>How many sessions said they are ready (with --wait-for).</summary>
    public int Ready() => File.Exists(OutcomesPath) ? File.ReadAllLines(OutcomesPath).Count(l => l.StartsWith("- ready ", StringComparison.Ordinal)) : 0;

    /// <summary>The queue ID in an <c>ack 250 2.0.0 Ok: queued as ID</c> outcome.</summary>
    public static string? QueueId(string outcome)
    {
        int at = outcome.IndexOf("queued as ", StringComparison.Ordinal);
        return at < 0 ? null : outcome[(at + 10)..].Trim();
    }

    /// <summary>Outcome counts, for messages: "ack 12, refused 451 3, indoubt 1, not sent 4".</summary>
    public string Summary()
    {
        var outcomes = Outcomes();
        var groups = Messages.Select(m => outcomes.TryGetValue(m.Id, out string? o) ? (o.StartsWith("refused", StringComparison.Ordinal) ? o[..11] : o.Split(' ')[0]) : "not sent")
            .GroupBy(x => x).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}");
        return string.Join(", ", groups);
    }

    /// <summary>
    /// Compares the mailbox with the outcomes: an acknowledged message is there exactly once, in <c>.Junk</c> when it is
    /// junk and in the inbox otherwise; one in doubt at most once; one refused or never sent not at all. Every copy is
    /// Return-Path, Delivered-To, exactly one Authentication-Results field of ours, our Received field, then the bytes
    /// sent without the forged field. Copies of other loads in the same mailbox are left alone. Returns the problems
    /// found (none when all is well).
    /// </summary>
    public List<string> Verify(Maildir inbox, IReadOnlySet<string>? lost = null)
    {
        var problems = new List<string>();
        var outcomes = Outcomes();
        var copies = new Dictionary<string, List<(MaildirMessage Copy, bool InJunk)>>(StringComparer.Ordinal);
        foreach (var (folder, junk) in new[] { (inbox, false), (inbox.Folder(".Junk"), true) })
        {
            foreach (MaildirMessage copy in folder.Messages())
            {
                string id = (copy.Header("Message-Id") ?? "(none)").Trim('<', '>').Split('@')[0];
                if (!copies.TryGetValue(id, out var list)) copies[id] = list = [];
                list.Add((copy, junk));
            }
        }
        var known = Messages.ToDictionary(m => m.Id, StringComparer.Ordinal);
        foreach (string id in copies.Keys.Where(id => id.StartsWith(RunId + "-", StringComparison.Ordinal) && !known.ContainsKey(id)))
        {
            problems.Add($"{id}: delivered but never sent");
        }
        foreach (Message m in Messages)
        {
            string outcome = outcomes.GetValueOrDefault(m.Id, "not sent");
            var found = copies.GetValueOrDefault(m.Id) ?? [];
            bool ok = outcome.StartsWith("ack ", StringComparison.Ordinal) ? found.Count == (lost?.Contains(m.Id) == true ? 0 : 1)
                : outcome == "indoubt" ? found.Count <= 1
                : found.Count == 0;
            if (!ok) problems.Add($"{m.Id} ({(m.Large ? "large " : "")}{(m.Forged ? "forged " : "")}{(m.Junk ? "junk" : "")}): {outcome}, {found.Count} copies");
            foreach (var (copy, inJunk) in found)
            {
                if (inJunk != m.Junk) problems.Add($"{m.Id}: delivered {(inJunk ? "into .Junk" : "into the inbox")}");
                string? wrong = CheckCopy(m, copy);
                if (wrong is not null) problems.Add($"{m.Id}: {wrong}");
            }
        }
        return problems;
    }

    private static string? CheckCopy(Message m, MaildirMessage copy)
    {
        string text = copy.Text;
        string prefix = $"Return-Path: <{m.MailFrom}>\r\nDelivered-To: rcpt@example.com\r\n";
        if (!text.StartsWith(prefix, StringComparison.Ordinal)) return "trace fields wrong: " + Transcript.Escape(copy.Raw, 300);
        int received = text.IndexOf("\r\nReceived: ", prefix.Length, StringComparison.Ordinal);
        if (received < 0) return "no Received field";
        string ours = text[prefix.Length..(received + 2)];
        if (!ours.StartsWith("Authentication-Results: mx.test;\r\n\tspf=", StringComparison.Ordinal)
            || ours.IndexOf("Authentication-Results", 1, StringComparison.Ordinal) >= 0
            || !ours.Contains(m.Junk ? "\tdmarc=fail (p=quarantine" : "\tdmarc=pass", StringComparison.Ordinal))
        {
            return "not one Authentication-Results field of ours before Received: " + Transcript.Escape(Encoding.Latin1.GetBytes(ours), 400);
        }
        int count = 0;
        for (int at = text.IndexOf("Authentication-Results: mx.test;", StringComparison.Ordinal); at >= 0;
             at = text.IndexOf("Authentication-Results: mx.test;", at + 1, StringComparison.Ordinal))
        {
            count++;
        }
        if (count != 1) return $"{count} Authentication-Results fields with our authserv-id";
        int pos = received + 2;
        while (true)
        {
            int eol = text.IndexOf("\r\n", pos, StringComparison.Ordinal);
            if (eol < 0) return "unterminated Received field";
            pos = eol + 2;
            if (pos >= text.Length || (text[pos] != ' ' && text[pos] != '\t')) break;
        }
        byte[] content = copy.Raw[pos..];
        if (!content.AsSpan().SequenceEqual(m.Expected))
        {
            int diff = 0;
            while (diff < Math.Min(content.Length, m.Expected.Length) && content[diff] == m.Expected[diff]) diff++;
            return $"content differs at byte {diff} ({content.Length} bytes, expected {m.Expected.Length}): "
                + Transcript.Escape(content.AsSpan(Math.Max(0, diff - 40)).ToArray(), 160);
        }
        return null;
    }

    /// <summary>Removes the folder.</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
