using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;
using Postbote.IO;

namespace Postbote.MailStore;

/// <summary>
/// The Maildirs under one root (https://cr.yp.to/proto/maildir.html): mailbox <c>user@domain</c> is the directory
/// <c>{Root}/domain/user/</c> with <c>tmp/</c>, <c>new/</c> and <c>cur/</c>, created on demand. This type knows the
/// layout and the file names; writing a message (what goes into the file, when it is synced) is its caller's.
/// </summary>
/// <remarks>
/// <para>A message's file name is its unique name (<see cref="GetUniqueName"/>), then <c>,S=&lt;stored size&gt;</c> and
/// <c>,W=&lt;size with CRLF line ends&gt;</c> once written (<see cref="WithSizes"/>, both in bytes; Dovecot takes W as
/// RFC822.SIZE), and in <c>cur/</c> a reader appends the info <c>:2,&lt;flags&gt;</c>. The unique name is derived from
/// the queue ID and the mailbox, so a repeated delivery finds an earlier copy (<see cref="ContainsMessage"/>).</para>
/// <para>A new message is created as an unnamed file in <c>new/</c> (<see cref="OpenNewFile"/>, <c>O_TMPFILE</c>) and
/// linked into place under its name (<see cref="LinkIntoNew"/>); where unnamed files do not exist it is created in
/// <c>tmp/</c> and renamed into <c>new/</c> (<see cref="MoveIntoNew"/>). Either way a reader never sees a partial
/// file in <c>new/</c>.</para>
/// <para>A POP3 server reads the same Maildirs: listing <c>new/</c> and <c>cur/</c> with sizes and unique names, opening
/// a message, moving it from <c>new/</c> to <c>cur/</c> with flags and deleting it belong here when it comes.</para>
/// </remarks>
public sealed class MaildirStore
{
    /// <summary>The folder where files are written before they are complete: <c>tmp</c>.</summary>
    public const string TmpFolder = "tmp";

    /// <summary>The folder of delivered messages no reader has seen yet: <c>new</c>.</summary>
    public const string NewFolder = "new";

    /// <summary>The folder of messages a reader has seen, named with their info (<c>:2,flags</c>): <c>cur</c>.</summary>
    public const string CurFolder = "cur";

    private readonly string _root;
    private readonly ConcurrentDictionary<string, bool> _knownMaildirs = new(StringComparer.Ordinal);
    private volatile bool _unnamedFiles = OperatingSystem.IsLinux();

    /// <summary>Creates the store.</summary>
    /// <param name="root">The root of the Maildirs; need not exist yet.</param>
    /// <param name="hostName">The host name in unique names; <see cref="Environment.MachineName"/> when <c>null</c>.
    /// Keep it stable: a redelivery recognises its earlier copies by name.</param>
    /// <exception cref="ArgumentException"><paramref name="root"/> is empty.</exception>
    public MaildirStore(string root, string? hostName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = Path.GetFullPath(root);
        HostName = EscapeHostName(hostName ?? Environment.MachineName);
    }

    /// <summary>The full path of the root.</summary>
    public string Root => _root;

    /// <summary>The host name as it appears in unique names: '/' written <c>\057</c> and ':' written <c>\072</c>, as the
    /// Maildir conventions ask.</summary>
    public string HostName { get; }

    /// <summary>The full path of the Maildir of a mailbox.</summary>
    /// <param name="mailbox">The mailbox, <c>user@domain</c>.</param>
    /// <returns><c>{Root}/domain/user</c> in lower case.</returns>
    /// <exception cref="ArgumentException">The mailbox is not <c>user@domain</c> or is not safe as a path.</exception>
    public string GetMaildirPath(string mailbox)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        int at = mailbox.LastIndexOf('@');
        string user = at > 0 ? mailbox[..at].ToLowerInvariant() : "";
        string domain = at > 0 ? mailbox[(at + 1)..].ToLowerInvariant() : "";
        if (!IsSafeSegment(user) || !IsSafeSegment(domain)) throw new ArgumentException($"'{mailbox}' is not a deliverable mailbox.", nameof(mailbox));
        return Path.Combine(_root, domain, user);
    }

    /// <summary>The unique name of one message in one mailbox, the same on every attempt.</summary>
    /// <remarks>
    /// <para>The microseconds come first and zero-padded, as the Maildir conventions' <c>M</c> field (in decimal, the
    /// microseconds of the same clock reading whose seconds are on the left). Dovecot numbers new messages (IMAP UIDs,
    /// POP3 message numbers) by the seconds, then by the digits after the first <c>M</c> of the middle part, then by
    /// name; Postbote's POP3 numbers them by name. A queue ID may hold an <c>M</c> followed by digits: were it first,
    /// Dovecot would take those digits for microseconds and number the messages out of arrival order and differently
    /// from Postbote's POP3. With <c>M</c> and six digits first, both orders are seconds, microseconds, queue ID. The
    /// mailbox hash is marked <c>H</c>, so that the one <c>M</c> field is the microseconds.</para>
    /// </remarks>
    /// <param name="receivedAt">When the message was received (its microseconds are part of the name).</param>
    /// <param name="queueId">Its queue ID.</param>
    /// <param name="mailbox">The mailbox, <c>user@domain</c>, lower case.</param>
    /// <returns><c>&lt;received Unix seconds&gt;.M&lt;microseconds, 6 digits&gt;Q&lt;queue ID&gt;H&lt;CRC-32C of the
    /// mailbox, 8 hex&gt;.&lt;host&gt;</c> (see <see cref="HostName"/>).</returns>
    public string GetUniqueName(DateTimeOffset receivedAt, QueueId queueId, string mailbox)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        uint hash = Crc32C.Compute(Encoding.UTF8.GetBytes(mailbox));
        long seconds = receivedAt.ToUnixTimeSeconds();
        long microseconds = (receivedAt.UtcTicks - DateTimeOffset.FromUnixTimeSeconds(seconds).UtcTicks) / TimeSpan.TicksPerMicrosecond;
        return string.Create(CultureInfo.InvariantCulture, $"{seconds}.M{microseconds:D6}Q{queueId.Value}H{hash:X8}.{HostName}");
    }

    /// <summary>The file name of a written message: its unique name with the Maildir++ sizes.</summary>
    /// <param name="uniqueName">The unique name (<see cref="GetUniqueName"/>).</param>
    /// <param name="storedSize">The size of the file, in bytes.</param>
    /// <param name="crlfSize">The size it has with CRLF line ends, in bytes (RFC822.SIZE for IMAP readers).</param>
    /// <returns><c>&lt;unique name&gt;,S=&lt;stored size&gt;,W=&lt;CRLF size&gt;</c>.</returns>
    public static string WithSizes(string uniqueName, long storedSize, long crlfSize) =>
        string.Create(CultureInfo.InvariantCulture, $"{uniqueName},S={storedSize},W={crlfSize}");

    /// <summary>The <c>tmp/</c> folder of a Maildir.</summary>
    /// <param name="maildir">The Maildir (<see cref="GetMaildirPath"/>).</param>
    /// <returns>Its full path.</returns>
    public static string TmpDirectory(string maildir) => Path.Combine(maildir, TmpFolder);

    /// <summary>The <c>new/</c> folder of a Maildir.</summary>
    /// <param name="maildir">The Maildir (<see cref="GetMaildirPath"/>).</param>
    /// <returns>Its full path.</returns>
    public static string NewDirectory(string maildir) => Path.Combine(maildir, NewFolder);

    /// <summary>Creates a Maildir's <c>tmp/</c>, <c>new/</c> and <c>cur/</c> unless this store saw them already.</summary>
    /// <param name="maildir">The Maildir (<see cref="GetMaildirPath"/>).</param>
    /// <param name="created">Receives every directory whose entries changed, so the caller can make them durable: the
    /// Maildir when it was new, and its domain directory and the root when the domain was new.</param>
    /// <exception cref="IOException">A directory could not be created (a file in the way, a full disk).</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to create it.</exception>
    public void EnsureMaildir(string maildir, ISet<string> created)
    {
        ArgumentNullException.ThrowIfNull(created);
        if (_knownMaildirs.ContainsKey(maildir)) return;
        string domainDir = Path.GetDirectoryName(maildir)!;
        bool existed = Directory.Exists(maildir);
        bool domainExisted = existed || Directory.Exists(domainDir);
        Directory.CreateDirectory(Path.Combine(maildir, TmpFolder));
        Directory.CreateDirectory(Path.Combine(maildir, NewFolder));
        Directory.CreateDirectory(Path.Combine(maildir, CurFolder));
        if (!existed) created.Add(maildir);
        if (!domainExisted)
        {
            created.Add(domainDir);
            created.Add(_root);
        }
        _knownMaildirs.TryAdd(maildir, true);
    }

    /// <summary>Whether a message of this unique name is already in the Maildir, in <c>new/</c> or <c>cur/</c>, under its
    /// bare name, with sizes (<c>,S=…</c>) or with info (<c>:2,flags</c>): the earlier copy of a delivery that is
    /// repeated after a crash.</summary>
    /// <param name="maildir">The Maildir (<see cref="GetMaildirPath"/>); it exists.</param>
    /// <param name="uniqueName">The unique name (<see cref="GetUniqueName"/>).</param>
    /// <returns><c>true</c> when a copy is there.</returns>
    /// <exception cref="IOException">A folder could not be read.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to read it.</exception>
    public static bool ContainsMessage(string maildir, string uniqueName)
    {
        foreach (string sub in (ReadOnlySpan<string>)[NewFolder, CurFolder])
        {
            string dir = Path.Combine(maildir, sub);
            if (File.Exists(Path.Combine(dir, uniqueName))) return true;
            foreach (string suffix in (ReadOnlySpan<string>)[",*", ":*"])
            {
                using IEnumerator<string> e = Directory.EnumerateFiles(dir, uniqueName + suffix).GetEnumerator();
                if (e.MoveNext()) return true;
            }
        }
        return false;
    }

    /// <summary>Creates the file for a new message, open for writing: preferably an unnamed file in <c>new/</c>
    /// (<c>O_TMPFILE</c>: one directory operation per copy instead of a create plus a rename, and a crash leaves nothing
    /// behind), else <c>tmp/&lt;unique name&gt;</c>. Once a file system in use is seen without unnamed files, this store
    /// uses <c>tmp/</c> from then on. If the Maildir vanished since it was last seen (removed by hand while the server
    /// runs), it is made again and the create retried once.</summary>
    /// <param name="maildir">The Maildir (<see cref="EnsureMaildir"/> was called for it).</param>
    /// <param name="uniqueName">The unique name (<see cref="GetUniqueName"/>).</param>
    /// <param name="created">As for <see cref="EnsureMaildir"/>, when the Maildir is made again.</param>
    /// <param name="unnamed"><c>true</c> when the file is unnamed: name it with <see cref="LinkIntoNew"/>; <c>false</c>
    /// when it is in <c>tmp/</c>: close it and name it with <see cref="MoveIntoNew"/>.</param>
    /// <returns>The handle; the caller disposes it.</returns>
    /// <exception cref="IOException">The file could not be created.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to create it.</exception>
    public SafeFileHandle OpenNewFile(string maildir, string uniqueName, ISet<string> created, out bool unnamed)
    {
        if (_unnamedFiles && NativeMethods.TryOpenUnnamed(NewDirectory(maildir)) is { } handle)
        {
            unnamed = true;
            return handle;
        }
        if (_unnamedFiles && Directory.Exists(NewDirectory(maildir))) _unnamedFiles = false;
        unnamed = false;
        string tmpPath = Path.Combine(maildir, TmpFolder, uniqueName);
        try
        {
            return File.OpenHandle(tmpPath, FileMode.Create, FileAccess.Write, FileShare.None);
        }
        catch (DirectoryNotFoundException)
        {
            _knownMaildirs.TryRemove(maildir, out _);
            EnsureMaildir(maildir, created);
            return File.OpenHandle(tmpPath, FileMode.Create, FileAccess.Write, FileShare.None);
        }
    }

    /// <summary>Names an unnamed file in <c>new/</c>. A file of that name already there is this very message,
    /// delivered before a crash (the name is derived from the queue ID and the mailbox): nothing more is done.</summary>
    /// <param name="handle">The handle from <see cref="OpenNewFile"/> (unnamed); its data should be durable first.</param>
    /// <param name="maildir">The Maildir.</param>
    /// <param name="fileName">The file name (<see cref="WithSizes"/>).</param>
    /// <exception cref="IOException">linkat(2) failed.</exception>
    public static void LinkIntoNew(SafeFileHandle handle, string maildir, string fileName) =>
        NativeMethods.TryLinkUnnamed(handle, Path.Combine(maildir, NewFolder, fileName));

    /// <summary>Renames a closed file from <c>tmp/</c> into <c>new/</c>, replacing a file of that name; if <c>new/</c>
    /// was removed while the file was written (by hand, or by a clean-up), it is made again, once.</summary>
    /// <param name="maildir">The Maildir.</param>
    /// <param name="uniqueName">The name in <c>tmp/</c>.</param>
    /// <param name="fileName">The name in <c>new/</c> (<see cref="WithSizes"/>).</param>
    /// <exception cref="IOException">The rename failed.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to rename.</exception>
    public static void MoveIntoNew(string maildir, string uniqueName, string fileName)
    {
        string tmpPath = Path.Combine(maildir, TmpFolder, uniqueName);
        string newPath = Path.Combine(maildir, NewFolder, fileName);
        try
        {
            File.Move(tmpPath, newPath, overwrite: true);
        }
        catch (DirectoryNotFoundException)
        {
            Directory.CreateDirectory(NewDirectory(maildir));
            File.Move(tmpPath, newPath, overwrite: true);
        }
    }

    /// <summary>Removes a file left in <c>tmp/</c> by a write that was given up; a failure is ignored, since Maildir
    /// readers ignore <c>tmp/</c>.</summary>
    /// <param name="maildir">The Maildir.</param>
    /// <param name="uniqueName">The name in <c>tmp/</c>.</param>
    public static void DiscardTmp(string maildir, string uniqueName)
    {
        try
        {
            File.Delete(Path.Combine(maildir, TmpFolder, uniqueName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A stale file in tmp/ is harmless.
        }
    }

    private static bool IsSafeSegment(string s) =>
        s.Length > 0 && s != "." && s != ".." && s.IndexOfAny(['/', '\\', '\0']) < 0;

    private static string EscapeHostName(string host) =>
        host.Replace("/", "\\057", StringComparison.Ordinal).Replace(":", "\\072", StringComparison.Ordinal);
}
