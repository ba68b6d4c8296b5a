using System.Text;

namespace Postbote.Host.Control;

/// <summary>
/// The line protocol of the control socket <c>{data_dir}/control.sock</c>: one request line per connection
/// (<see cref="ControlRequest"/>, at most <see cref="MaxRequestLength"/> octets with its LF), answered by zero or more data
/// lines (<c>* TEXT</c>) and one status line: <c>ok [TEXT]</c> (done), <c>no TEXT</c> (understood, but refused or failed:
/// no such message, not applicable, an I/O error) or <c>bad TEXT</c> (not a request: unknown command, bad queue ID, line
/// too long, no line in time); then the server closes the connection. Every line ends with LF and holds no other control
/// character. The three status words are those of IMAP (RFC 9051 §7.1): OK, NO, BAD.
/// </summary>
public static class ControlProtocol
{
    /// <summary>The socket's file name in the data directory.</summary>
    public const string SocketFileName = "control.sock";

    /// <summary>The longest request line in octets, its LF included: 512, as an SMTP command line (RFC 5321
    /// §4.5.3.1.4); the longest real request (<c>release</c> and a 16-character ID) has 25.</summary>
    public const int MaxRequestLength = 512;

    /// <summary>The start of a data line.</summary>
    public const string DataPrefix = "* ";

    /// <summary>The status word for a command that was carried out.</summary>
    public const string Ok = "ok";

    /// <summary>The status word for a request that was understood but refused or failed.</summary>
    public const string No = "no";

    /// <summary>The status word for a request that is not one.</summary>
    public const string Bad = "bad";

    /// <summary>The commands as a usage line, for error replies.</summary>
    public const string Usage = "list, show ID, flush, retry ID, hold ID, release ID, delete ID, mailq, trace ID|MESSAGE-ID";

    /// <summary>What a queue ID looks like, for error replies.</summary>
    public const string QueueIdShape = "16 characters of 0-9 and A-Z without I, O, U and Y";

    /// <summary>The request line's verb for a command: its name in lower case.</summary>
    /// <param name="command">The command.</param>
    /// <returns>e.g. <c>hold</c>.</returns>
    public static string Verb(ControlCommand command) => command.ToString().ToLowerInvariant();

    /// <summary>Text as it may go into a reply line, a log line or a terminal: every control character (C0 but tab, DEL,
    /// C1) becomes <c>?</c>, so no text from a message can end a line or send a terminal escape sequence.</summary>
    /// <param name="text">The text.</param>
    /// <param name="maxLength">The longest result in characters; longer text is cut and ends with <c>...</c>.</param>
    /// <returns>The printable text.</returns>
    public static string Printable(string text, int maxLength = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool cut = text.Length > maxLength;
        ReadOnlySpan<char> span = cut ? text.AsSpan(0, Math.Max(0, maxLength - 3)) : text.AsSpan();
        var builder = new StringBuilder(span.Length + 3);
        foreach (char c in span) builder.Append(c == '\t' || !char.IsControl(c) ? c : '?');
        if (cut) builder.Append("...");
        return builder.ToString();
    }
}
