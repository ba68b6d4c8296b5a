namespace Postbote.MailStore;

/// <summary>Opens a user's maildrop for a POP3 session (RFC 1939 §4: "the POP3 server then acquires an exclusive-access
/// lock on the maildrop").</summary>
public interface IMaildropStore
{
    /// <summary>Locks the maildrop of <paramref name="user"/> and takes the snapshot of its messages.</summary>
    /// <param name="user">The authenticated user, <c>local@domain</c>.</param>
    /// <returns>The open maildrop; disposing it releases the lock without changing anything.</returns>
    /// <exception cref="MaildropLockedException">Another session holds the lock (<c>-ERR [IN-USE]</c>).</exception>
    /// <exception cref="ArgumentException">The user name is no mailbox (<c>local@domain</c>).</exception>
    /// <exception cref="IOException">The Maildir cannot be read or created.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to read it.</exception>
    IMaildrop Open(string user);
}
