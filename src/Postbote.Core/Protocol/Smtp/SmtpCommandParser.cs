using System.Text;

namespace Postbote.Protocol.Smtp;

/// <summary>
/// Splits an SMTP command line into verb and arguments (RFC 5321 §4.1.1: "commands are ... a four-letter verb ... and
/// arguments"). Pure and allocation-free; verbs are matched case-insensitively (RFC 5321 §2.4: "Verbs and argument
/// values ... are not case sensitive").
/// </summary>
public static class SmtpCommandParser
{
    /// <summary>Finds the verb of a command line and the arguments after it.</summary>
    /// <param name="line">The command line without its terminating CRLF.</param>
    /// <param name="arguments">The text after the verb and the spaces that follow it, trailing spaces removed; for
    /// <c>MAIL</c> and <c>RCPT</c> the text after <c>FROM:</c> / <c>TO:</c> and any spaces after the colon (a leniency
    /// for widespread clients that write <c>MAIL FROM: &lt;a@b&gt;</c>).</param>
    /// <returns>The verb, or <see cref="SmtpVerb.Unknown"/>; <c>MAIL</c> without <c>FROM:</c> and <c>RCPT</c> without
    /// <c>TO:</c> are reported as their verb with <paramref name="arguments"/> set to the raw text, and
    /// <see cref="HasPathPrefix"/> tells them apart.</returns>
    public static SmtpVerb ParseVerb(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> arguments)
    {
        int sp = line.IndexOf((byte)' ');
        ReadOnlySpan<byte> word = sp < 0 ? line : line[..sp];
        ReadOnlySpan<byte> rest = sp < 0 ? default : TrimSpaces(line[(sp + 1)..]);
        arguments = rest;
        SmtpVerb verb = word.Length switch
        {
            4 => Match4(word),
            8 when Ascii.EqualsIgnoreCase(word, "STARTTLS"u8) => SmtpVerb.StartTls,
            _ => SmtpVerb.Unknown,
        };
        if (verb == SmtpVerb.Mail) arguments = StripPrefix(rest, "FROM:"u8);
        else if (verb == SmtpVerb.Rcpt) arguments = StripPrefix(rest, "TO:"u8);
        return verb;
    }

    /// <summary>Whether a MAIL or RCPT line carries its <c>FROM:</c> / <c>TO:</c> keyword.</summary>
    /// <param name="line">The whole command line.</param>
    /// <param name="verb">The verb <see cref="ParseVerb"/> returned.</param>
    /// <returns><c>true</c> for other verbs, and for MAIL/RCPT lines with their keyword.</returns>
    public static bool HasPathPrefix(ReadOnlySpan<byte> line, SmtpVerb verb)
    {
        if (verb is not (SmtpVerb.Mail or SmtpVerb.Rcpt)) return true;
        ReadOnlySpan<byte> rest = line.Length > 5 ? TrimSpaces(line[5..]) : default;
        ReadOnlySpan<byte> key = verb == SmtpVerb.Mail ? "FROM:"u8 : "TO:"u8;
        return rest.Length >= key.Length && Ascii.EqualsIgnoreCase(rest[..key.Length], key);
    }

    private static SmtpVerb Match4(ReadOnlySpan<byte> w)
    {
        // Upper-case the four letters without allocating: 'a'..'z' - 32.
        Span<byte> u = stackalloc byte[4];
        for (int i = 0; i < 4; i++)
        {
            byte b = w[i];
            u[i] = b is >= (byte)'a' and <= (byte)'z' ? (byte)(b - 32) : b;
        }
        return u switch
        {
            _ when u.SequenceEqual("MAIL"u8) => SmtpVerb.Mail,
            _ when u.SequenceEqual("RCPT"u8) => SmtpVerb.Rcpt,
            _ when u.SequenceEqual("DATA"u8) => SmtpVerb.Data,
            _ when u.SequenceEqual("EHLO"u8) => SmtpVerb.Ehlo,
            _ when u.SequenceEqual("HELO"u8) => SmtpVerb.Helo,
            _ when u.SequenceEqual("RSET"u8) => SmtpVerb.Rset,
            _ when u.SequenceEqual("QUIT"u8) => SmtpVerb.Quit,
            _ when u.SequenceEqual("NOOP"u8) => SmtpVerb.Noop,
            _ when u.SequenceEqual("BDAT"u8) => SmtpVerb.Bdat,
            _ when u.SequenceEqual("VRFY"u8) => SmtpVerb.Vrfy,
            _ when u.SequenceEqual("EXPN"u8) => SmtpVerb.Expn,
            _ when u.SequenceEqual("HELP"u8) => SmtpVerb.Help,
            _ when u.SequenceEqual("AUTH"u8) => SmtpVerb.Auth,
            _ => SmtpVerb.Unknown,
        };
    }

    private static ReadOnlySpan<byte> StripPrefix(ReadOnlySpan<byte> rest, ReadOnlySpan<byte> key)
    {
        if (rest.Length >= key.Length && Ascii.EqualsIgnoreCase(rest[..key.Length], key))
            return TrimSpaces(rest[key.Length..]);
        return rest;
    }

    /// <summary>Removes leading and trailing spaces (SP, and HTAB which some clients send) from a span.</summary>
    /// <param name="s">The span.</param>
    /// <returns>The trimmed slice.</returns>
    public static ReadOnlySpan<byte> TrimSpaces(ReadOnlySpan<byte> s)
    {
        int a = 0, b = s.Length;
        while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
        return s[a..b];
    }
}
