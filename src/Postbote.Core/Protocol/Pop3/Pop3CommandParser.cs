using System.Text;

namespace Postbote.Protocol.Pop3;

/// <summary>
/// Splits a POP3 command line into keyword and arguments (RFC 1939 §3: "Commands in the POP3 consist of a
/// case-insensitive keyword, possibly followed by one or more arguments ... Keywords and arguments are each separated by a
/// single SPACE character") and reads message numbers. Pure and allocation-free.
/// </summary>
public static class Pop3CommandParser
{
    /// <summary>The longest command line, 255 octets including CRLF (RFC 2449 §4: "The maximum length of a command is
    /// increased from 47 characters ... to 255 octets, including the terminating CRLF"). AUTH and SASL responses may be
    /// longer (<see cref="MaxSaslLine"/>).</summary>
    public const int MaxCommandLine = 255;

    /// <summary>The longest AUTH command or SASL response line Postbote accepts, 12,288 octets without CRLF (the same
    /// limit as SMTP AUTH, RFC 4954 §4; RFC 5034 §4 lifts the 255-octet limit for AUTH).</summary>
    public const int MaxSaslLine = 12288;

    /// <summary>Finds the keyword of a command line and the text after it.</summary>
    /// <param name="line">The line without CRLF.</param>
    /// <param name="arguments">Everything after the first space (unchanged: PASS may hold spaces, RFC 1939 §7), empty
    /// without arguments.</param>
    /// <returns>The keyword, or <see cref="Pop3Verb.Unknown"/>.</returns>
    public static Pop3Verb ParseVerb(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> arguments)
    {
        int sp = line.IndexOf((byte)' ');
        ReadOnlySpan<byte> word = sp < 0 ? line : line[..sp];
        arguments = sp < 0 ? default : line[(sp + 1)..];
        if (word.Length is < 3 or > 4) return Pop3Verb.Unknown;
        Span<byte> u = stackalloc byte[4];
        int n = Ascii.ToUpper(word, u, out int written) == System.Buffers.OperationStatus.Done ? written : 0;
        ReadOnlySpan<byte> k = u[..n];
        return k switch
        {
            _ when k.SequenceEqual("USER"u8) => Pop3Verb.User,
            _ when k.SequenceEqual("PASS"u8) => Pop3Verb.Pass,
            _ when k.SequenceEqual("APOP"u8) => Pop3Verb.Apop,
            _ when k.SequenceEqual("AUTH"u8) => Pop3Verb.Auth,
            _ when k.SequenceEqual("STLS"u8) => Pop3Verb.Stls,
            _ when k.SequenceEqual("CAPA"u8) => Pop3Verb.Capa,
            _ when k.SequenceEqual("STAT"u8) => Pop3Verb.Stat,
            _ when k.SequenceEqual("LIST"u8) => Pop3Verb.List,
            _ when k.SequenceEqual("RETR"u8) => Pop3Verb.Retr,
            _ when k.SequenceEqual("DELE"u8) => Pop3Verb.Dele,
            _ when k.SequenceEqual("NOOP"u8) => Pop3Verb.Noop,
            _ when k.SequenceEqual("RSET"u8) => Pop3Verb.Rset,
            _ when k.SequenceEqual("QUIT"u8) => Pop3Verb.Quit,
            _ when k.SequenceEqual("TOP"u8) => Pop3Verb.Top,
            _ when k.SequenceEqual("UIDL"u8) => Pop3Verb.Uidl,
            _ => Pop3Verb.Unknown,
        };
    }

    /// <summary>Splits arguments at single spaces (RFC 1939 §3), at most <paramref name="parts"/>.Length of them.</summary>
    /// <param name="arguments">The arguments from <see cref="ParseVerb"/>.</param>
    /// <param name="parts">Receives the start and length of each argument.</param>
    /// <returns>The number of arguments, or -1 when there are more than <paramref name="parts"/> can hold or an argument
    /// is empty (two spaces in a row, a leading or trailing space).</returns>
    public static int Split(ReadOnlySpan<byte> arguments, Span<Range> parts)
    {
        if (arguments.IsEmpty) return 0;
        int count = 0, start = 0;
        for (int i = 0; i <= arguments.Length; i++)
        {
            if (i < arguments.Length && arguments[i] != ' ') continue;
            if (i == start || count == parts.Length) return -1;
            parts[count++] = new Range(start, i);
            start = i + 1;
        }
        return count;
    }

    /// <summary>Reads a message number (RFC 1939 §3: "a message-number argument ... decimal"): one to nine digits, no
    /// sign, not zero.</summary>
    /// <param name="text">The argument.</param>
    /// <param name="number">The number, 1 or more.</param>
    /// <returns><c>false</c> for anything else; the session answers <c>-ERR</c>.</returns>
    public static bool TryParseMessageNumber(ReadOnlySpan<byte> text, out int number)
    {
        number = 0;
        if (!TryParseCount(text, out int n) || n == 0) return false;
        number = n;
        return true;
    }

    /// <summary>Reads a non-negative line count, such as the <c>n</c> of <c>TOP msg n</c> (RFC 1939 §7: "a non-negative
    /// number of lines"): one to nine digits, no sign.</summary>
    /// <param name="text">The argument.</param>
    /// <param name="count">The number, 0 or more.</param>
    /// <returns><c>false</c> for anything else.</returns>
    public static bool TryParseCount(ReadOnlySpan<byte> text, out int count)
    {
        count = 0;
        if (text.IsEmpty || text.Length > 9) return false;
        int n = 0;
        foreach (byte b in text)
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            n = n * 10 + (b - '0');
        }
        count = n;
        return true;
    }
}
