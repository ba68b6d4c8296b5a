namespace Postbote.MailStore;

/// <summary>
/// The maildrops of a POP3 server over the Maildirs of a <see cref="MaildirStore"/>: user <c>local@domain</c> reads the
/// Maildir that local delivery writes for that mailbox (<c>{root}/domain/local</c>), locked with an advisory lock
/// (flock(2) on <c>{maildir}/postbote-pop3.lock</c>), so that a second POP3 session, in this process or another Postbote
/// on the same Maildirs, gets <see cref="MaildropLockedException"/>. Delivery and IMAP readers (Dovecot) do not take this
/// lock and need not: Maildir is safe for concurrent readers and writers, and the maildrop finds a message again when a
/// reader moved it.
/// </summary>
public sealed class MaildirMaildropStore : IMaildropStore
{
    /// <summary>The lock file's name inside each Maildir.</summary>
    public const string LockFileName = "postbote-pop3.lock";

    /// <summary>The HRESULT .NET gives a sharing violation on Windows (ERROR_SHARING_VIOLATION, 32).</summary>
    private const int SharingViolation = unchecked((int)0x80070020);

    /// <summary>The errno .NET puts into the HRESULT on Unix when flock(2) finds the lock held: EWOULDBLOCK, 11 on Linux,
    /// 35 on macOS and the BSDs.</summary>
    private const int WouldBlockLinux = 11, WouldBlockBsd = 35;

    private readonly MaildirStore _store;

    /// <summary>Creates the store.</summary>
    /// <param name="store">The Maildirs local delivery writes.</param>
    public MaildirMaildropStore(MaildirStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public IMaildrop Open(string user)
    {
        string maildir = _store.GetMaildirPath(user);
        // A user without mail yet gets an empty Maildir, as Dovecot creates one at the first login.
        _store.EnsureMaildir(maildir, new HashSet<string>());
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(maildir, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e.HResult is SharingViolation or WouldBlockLinux or WouldBlockBsd)
        {
            throw new MaildropLockedException($"the maildrop {maildir} is locked by another session", e);
        }
        try
        {
            return new MaildirMaildrop(maildir, lockFile);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }
}
