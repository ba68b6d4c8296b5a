namespace Postbote.Security.Dkim;

/// <summary>A DKIM key could not be had: none published (PERMFAIL, RFC 6376 §6.1.2) or the lookup failed (TEMPFAIL).</summary>
public sealed class DkimKeyException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="temporary">Whether trying later may succeed.</param>
    public DkimKeyException(string message, bool temporary) : base(message) => Temporary = temporary;

    /// <summary>Creates the exception (a permanent one).</summary>
    public DkimKeyException() : this("no DKIM key", false)
    {
    }

    /// <summary>Creates the exception (a permanent one).</summary>
    /// <param name="message">What went wrong.</param>
    public DkimKeyException(string message) : this(message, false)
    {
    }

    /// <summary>Creates the exception (a permanent one).</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">The cause.</param>
    public DkimKeyException(string message, Exception inner) : base(message, inner)
    {
    }

    /// <summary>Whether the failure is temporary (a DNS failure): the result is <c>temperror</c>, else <c>permerror</c>.</summary>
    public bool Temporary { get; }
}
