using System.Buffers;
using System.Text;

namespace Postbote.Protocol.Pop3;

/// <summary>
/// One POP3 status line (RFC 1939 §3: "Responses in the POP3 consist of a status indicator and a keyword possibly
/// followed by additional information ... There are currently two status indicators: positive ("+OK") and negative
/// ("-ERR")"), with an optional extended response code in brackets (RFC 2449 §8).
/// </summary>
public sealed record Pop3Reply
{
    /// <summary>Creates a reply.</summary>
    /// <param name="isOk"><c>true</c> for <c>+OK</c>, <c>false</c> for <c>-ERR</c>.</param>
    /// <param name="text">The text after the indicator (and the code); may be empty.</param>
    /// <param name="code">The response code without brackets (<see cref="Pop3ResponseCode"/>), or <c>null</c>.</param>
    /// <exception cref="ArgumentException">The text or code holds CR, LF or another control character, which would end
    /// or break the line.</exception>
    public Pop3Reply(bool isOk, string text, string? code = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Any(char.IsControl) || code is not null && code.Any(c => char.IsControl(c) || c is '[' or ']' or ' '))
            throw new ArgumentException("a POP3 reply is one line without control characters", nameof(text));
        IsOk = isOk;
        Text = text;
        Code = code;
    }

    /// <summary>Whether the indicator is <c>+OK</c>.</summary>
    public bool IsOk { get; }

    /// <summary>The text after the indicator and the code.</summary>
    public string Text { get; }

    /// <summary>The extended response code without brackets, or <c>null</c>.</summary>
    public string? Code { get; }

    /// <summary>A positive reply.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The reply.</returns>
    public static Pop3Reply Ok(string text = "") => new(true, text);

    /// <summary>A negative reply.</summary>
    /// <param name="text">The text.</param>
    /// <param name="code">The response code, or <c>null</c>.</param>
    /// <returns>The reply.</returns>
    public static Pop3Reply Err(string text, string? code = null) => new(false, text, code);

    /// <summary>The line with CRLF, e.g. <c>-ERR [IN-USE] Mailbox is locked\r\n</c>.</summary>
    /// <returns>The line.</returns>
    public override string ToString()
    {
        var s = new StringBuilder(IsOk ? "+OK" : "-ERR");
        if (Code is not null) s.Append(" [").Append(Code).Append(']');
        if (Text.Length > 0) s.Append(' ').Append(Text);
        return s.Append("\r\n").ToString();
    }

    /// <summary>Writes the line (UTF-8) into <paramref name="output"/>.</summary>
    /// <param name="output">Where to write.</param>
    public void WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        string line = ToString();
        int n = Encoding.UTF8.GetByteCount(line);
        Encoding.UTF8.GetBytes(line, output.GetSpan(n));
        output.Advance(n);
    }
}
