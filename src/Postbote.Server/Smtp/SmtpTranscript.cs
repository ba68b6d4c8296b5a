using System.Text;

namespace Postbote.Smtp;

/// <summary>How client lines appear in the trace-level transcript: escaped and truncated, AUTH without its credentials.</summary>
internal static class SmtpTranscript
{
    /// <summary>An AUTH command for the transcript: the verb and mechanism, never the initial response, which carries
    /// credentials (RFC 4954 §4; PLAIN's holds the password).</summary>
    /// <param name="line">The command line without CRLF.</param>
    /// <returns>For example <c>AUTH PLAIN (24 octets of initial response, not logged)</c>.</returns>
    public static string RedactAuth(ReadOnlySpan<byte> line)
    {
        int first = line.IndexOf((byte)' ');
        if (first < 0) return Escape(line);
        int second = line[(first + 1)..].IndexOf((byte)' ');
        if (second < 0) return Escape(line);
        int end = first + 1 + second;
        return Escape(line[..end]) + $" ({line.Length - end - 1} octets of initial response, not logged)";
    }

    /// <summary>Client octets for the transcript: at most 200, each outside printable ASCII shown as <c>?</c>.</summary>
    /// <param name="line">The octets.</param>
    /// <returns>The text.</returns>
    public static string Escape(ReadOnlySpan<byte> line)
    {
        var sb = new StringBuilder(Math.Min(line.Length, 200));
        foreach (byte b in line.Length > 200 ? line[..200] : line)
            sb.Append(b is >= 32 and < 127 ? (char)b : '?');
        return sb.ToString();
    }
}
