using System.Globalization;

namespace Postbote.MailStore;

/// <summary>
/// One locked Maildir read as a POP3 maildrop (<see cref="IMaildrop"/>): the snapshot of <c>new/</c> and <c>cur/</c>
/// taken when it was opened, sorted by unique name (which begins with the delivery time in seconds), each message known by
/// its base name, so that it is found again when another reader moved it from <c>new/</c> to <c>cur/</c> or changed its
/// flags in the meantime.
/// </summary>
internal sealed class MaildirMaildrop : IMaildrop
{
    /// <summary>The Maildir info separator (https://cr.yp.to/proto/maildir.html: "info ... after a colon").</summary>
    private const char InfoSeparator = ':';

    private readonly string _maildir;
    private readonly FileStream _lock;
    private readonly string[] _paths;
    private readonly MaildropMessage[] _messages;

    /// <summary>Takes the snapshot of a locked Maildir.</summary>
    /// <param name="maildir">The Maildir.</param>
    /// <param name="lockFile">The held lock; released on <see cref="Dispose"/>.</param>
    /// <exception cref="IOException">A folder or file cannot be read.</exception>
    public MaildirMaildrop(string maildir, FileStream lockFile)
    {
        _maildir = maildir;
        _lock = lockFile;
        var found = Scan().OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        _paths = found.Select(p => p.Value).ToArray();
        _messages = found.Select(p => new MaildropMessage(p.Key, CrlfSize(p.Key, p.Value))).ToArray();
    }

    /// <inheritdoc />
    public IReadOnlyList<MaildropMessage> Messages => _messages;

    /// <inheritdoc />
    public Stream OpenMessage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _messages.Length);
        try
        {
            return Open(_paths[index]);
        }
        catch (FileNotFoundException)
        {
            // Moved by another reader (new/ → cur/, flags changed): find it by its base name.
            string? now = Locate(_messages[index].UniqueName) ?? throw new FileNotFoundException("the message was removed", _messages[index].UniqueName);
            _paths[index] = now;
            return Open(now);
        }
    }

    /// <inheritdoc />
    public int Update(IReadOnlySet<int> deleted, IReadOnlySet<int> retrieved)
    {
        ArgumentNullException.ThrowIfNull(deleted);
        ArgumentNullException.ThrowIfNull(retrieved);
        Dictionary<string, string> current = Scan();
        int failed = 0;
        foreach (int i in deleted)
        {
            if (!current.TryGetValue(_messages[i].UniqueName, out string? path)) continue; // gone already
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failed++;
            }
        }
        foreach (int i in retrieved)
        {
            if (deleted.Contains(i) || !current.TryGetValue(_messages[i].UniqueName, out string? path)) continue;
            string? seen = SeenPath(path);
            if (seen is null) continue;
            try
            {
                File.Move(path, seen, overwrite: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The flag is a courtesy to other readers; the message itself is unchanged.
            }
        }
        return failed;
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();

    /// <summary>The path a retrieved message gets: in <c>cur/</c> with the flag <c>S</c> (seen) added to its info
    /// (<c>:2,</c> and the flags in ASCII order, as the Maildir conventions ask), or <c>null</c> when it has it already.</summary>
    private string? SeenPath(string path)
    {
        string name = Path.GetFileName(path);
        int sep = name.IndexOf(InfoSeparator, StringComparison.Ordinal);
        string baseName = sep < 0 ? name : name[..sep];
        string info = sep < 0 ? "" : name[(sep + 1)..];
        string flags = info.StartsWith("2,", StringComparison.Ordinal) ? info[2..] : "";
        bool inCur = string.Equals(Path.GetFileName(Path.GetDirectoryName(path)), MaildirStore.CurFolder, StringComparison.Ordinal);
        if (inCur && flags.Contains('S', StringComparison.Ordinal)) return null;
        string newFlags = new((flags.Contains('S', StringComparison.Ordinal) ? flags : flags + "S").Order().ToArray());
        return Path.Combine(_maildir, MaildirStore.CurFolder, baseName + InfoSeparator + "2," + newFlags);
    }

    private static FileStream Open(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

    /// <summary>Base name → full path of every message in <c>new/</c> and <c>cur/</c> (names starting with "." are not
    /// messages).</summary>
    private Dictionary<string, string> Scan()
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string folder in (ReadOnlySpan<string>)[MaildirStore.NewFolder, MaildirStore.CurFolder])
        {
            string dir = Path.Combine(_maildir, folder);
            if (!Directory.Exists(dir)) continue;
            foreach (string path in Directory.EnumerateFiles(dir))
            {
                string name = Path.GetFileName(path);
                if (name.StartsWith('.')) continue;
                int sep = name.IndexOf(InfoSeparator, StringComparison.Ordinal);
                found.TryAdd(sep < 0 ? name : name[..sep], path);
            }
        }
        return found;
    }

    private string? Locate(string uniqueName) => Scan().TryGetValue(uniqueName, out string? path) ? path : null;

    /// <summary>The size with CRLF line ends: the <c>,W=</c> field of the base name, else counted from the file (its
    /// length plus one for every LF without a CR before it).</summary>
    private static long CrlfSize(string baseName, string path)
    {
        foreach (string field in baseName.Split(','))
        {
            if (field.StartsWith("W=", StringComparison.Ordinal)
                && long.TryParse(field.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out long w))
                return w;
        }
        using FileStream file = Open(path);
        byte[] buffer = new byte[64 * 1024];
        long size = 0;
        byte previous = 0;
        int n;
        while ((n = file.Read(buffer)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] == '\n' && previous != '\r') size++;
                previous = buffer[i];
            }
            size += n;
        }
        return size;
    }
}
