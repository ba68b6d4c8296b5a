namespace Postbote.Dkim;

/// <summary>A <c>[[dkim.sign]]</c> or <c>[arc]</c> key file that cannot be used.</summary>
public sealed class DkimKeyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DkimKeyException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The entry and the reason, one line.</param>
    public DkimKeyException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The entry and the reason, one line.</param>
    /// <param name="inner">The cause.</param>
    public DkimKeyException(string message, Exception inner) : base(message, inner)
    {
    }
}
