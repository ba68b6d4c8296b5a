namespace Postbote.MailStore;

/// <summary>The maildrop is locked by another session (POP3 answers <c>-ERR [IN-USE]</c>, RFC 2449 §8.1.2).</summary>
public sealed class MaildropLockedException : IOException
{
    /// <summary>Creates the exception.</summary>
    public MaildropLockedException() : base("the maildrop is locked by another session")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened.</param>
    public MaildropLockedException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="inner">The lock's failure.</param>
    public MaildropLockedException(string message, Exception inner) : base(message, inner)
    {
    }
}
