using System.Diagnostics;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>One mailbox stored as a Maildir: {root}/{domain}/{local}/{tmp,new,cur}.</summary>
public sealed class Maildir
{
    private Maildir(string path, string address)
    {
        Path = path;
        Address = address;
    }

    /// <summary>The Maildir folder.</summary>
    public string Path { get; }

    /// <summary>The mailbox address.</summary>
    public string Address { get; }

    /// <summary>The Maildir of <paramref name="address"/> under <paramref name="root"/>.</summary>
    public static Maildir For(string root, string address)
    {
        var at = address.LastIndexOf('@');
        if (at <= 0)
        {
            throw new ArgumentException($"not local@domain: {address}", nameof(address));
        }

        return new Maildir(System.IO.Path.Combine(root, address[(at + 1)..], address[..at]), address);
    }

    /// <summary>The Maildir++ folder <paramref name="name"/> (e.g. <c>.Junk</c>) inside this Maildir.</summary>
    public Maildir Folder(string name) => new(System.IO.Path.Combine(Path, name), $"{Address} {name}");

    /// <summary>The delivered messages (new/ and cur/), oldest file name first.</summary>
    public IReadOnlyList<MaildirMessage> Messages()
    {
        var files = new List<string>();
        foreach (var sub in new[] { "new", "cur" })
        {
            var dir = System.IO.Path.Combine(Path, sub);
            if (Directory.Exists(dir))
            {
                files.AddRange(Directory.GetFiles(dir));
            }
        }

        var messages = new List<MaildirMessage>();
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            try
            {
                messages.Add(new MaildirMessage(file, MaildirMessage.AsReadersSeeIt(file, File.ReadAllBytes(file))));
            }
            catch (FileNotFoundException)
            {
                // Moved from new/ to cur/ while listing; the next listing sees it.
            }
        }

        return messages;
    }

    /// <summary>The number of delivered messages.</summary>
    public int Count()
    {
        var count = 0;
        foreach (var sub in new[] { "new", "cur" })
        {
            var dir = System.IO.Path.Combine(Path, sub);
            if (Directory.Exists(dir))
            {
                count += Directory.GetFiles(dir).Length;
            }
        }

        return count;
    }

    /// <summary>Waits (bounded) until at least <paramref name="count"/> messages are there; returns the messages.</summary>
    public async Task<IReadOnlyList<MaildirMessage>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit && Count() < count)
        {
            await Task.Delay(50);
        }

        return Messages();
    }

    /// <summary>Waits until the first message whose bytes contain <paramref name="marker"/> is there; null when none came.</summary>
    public async Task<MaildirMessage?> WaitForMessageContainingAsync(string marker, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var clock = Stopwatch.StartNew();
        do
        {
            var found = Messages().FirstOrDefault(m => m.Contains(marker));
            if (found is not null)
            {
                return found;
            }

            await Task.Delay(50);
        }
        while (clock.Elapsed < limit);

        return null;
    }

    /// <summary>A listing of the Maildir for failure messages.</summary>
    public string Describe()
    {
        var messages = Messages();
        var text = $"{Address} ({Path}): {messages.Count} message(s)";
        foreach (var message in messages.Take(5))
        {
            text += $"\n  {System.IO.Path.GetFileName(message.FilePath)} ({message.Raw.Length} bytes): {Transcript.Escape(message.Raw, 400)}";
        }

        return text;
    }
}
