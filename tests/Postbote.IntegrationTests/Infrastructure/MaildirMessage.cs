using System.Text;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// One delivered file. Postbote prepends exactly three trace fields to the bytes the client sent:
/// <c>Return-Path: &lt;sender&gt;</c>, <c>Delivered-To: rcpt</c> and one (folded) <c>Received:</c> field.
/// </summary>
public sealed class MaildirMessage
{
    internal MaildirMessage(string filePath, byte[] raw)
    {
        FilePath = filePath;
        Raw = raw;
    }

    /// <summary>
    /// The message as an IMAP server hands it out, with CRLF line ends: a file stored with LF (its name's <c>W=</c>
    /// differs from <c>S=</c>) has every LF turned into CRLF. Checks that <c>S=</c> is the file's size and <c>W=</c> the
    /// size with CRLF line ends.
    /// </summary>
    public static byte[] AsReadersSeeIt(string filePath, byte[] stored)
    {
        var m = System.Text.RegularExpressions.Regex.Match(Path.GetFileName(filePath), @",S=(\d+),W=(\d+)(:|$)");
        if (!m.Success)
        {
            throw new FormatException($"{filePath}: no ,S=<size>,W=<size> in the name");
        }

        long s = long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        long w = long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        if (s != stored.Length)
        {
            throw new FormatException($"{filePath}: S={s} but the file has {stored.Length} bytes");
        }

        if (w == s)
        {
            return stored;
        }

        var crlf = new List<byte>(stored.Length + stored.Length / 20);
        foreach (var b in stored)
        {
            if (b == (byte)'\n')
            {
                crlf.Add((byte)'\r');
            }

            crlf.Add(b);
        }

        if (crlf.Count != w)
        {
            throw new FormatException($"{filePath}: W={w} but the file with CRLF line ends has {crlf.Count} bytes");
        }

        return crlf.ToArray();
    }

    /// <summary>The file in new/ or cur/.</summary>
    public string FilePath { get; }

    /// <summary>The whole message, with CRLF line ends as IMAP readers get it (see <see cref="AsReadersSeeIt"/>).</summary>
    public byte[] Raw { get; }

    /// <summary>The file as text (Latin-1, so every byte maps to one char).</summary>
    public string Text => Encoding.Latin1.GetString(Raw);

    /// <summary>Whether the file contains <paramref name="marker"/> (ASCII).</summary>
    public bool Contains(string marker) => Text.Contains(marker, StringComparison.Ordinal);

    /// <summary>
    /// Splits off the three trace fields the server adds; throws (with the start of the file) when they are not the
    /// first three fields in that order.
    /// </summary>
    public TracedMessage SplitTrace()
    {
        var text = Text;
        var pos = 0;
        string NextField(string name)
        {
            if (!text.AsSpan(pos).StartsWith(name + ":", StringComparison.Ordinal))
            {
                throw new FormatException(
                    $"expected a {name}: field at offset {pos} of {FilePath}; file starts: {Transcript.Escape(Raw, 600)}");
            }

            var start = pos;
            while (true)
            {
                var eol = text.IndexOf("\r\n", pos, StringComparison.Ordinal);
                if (eol < 0)
                {
                    throw new FormatException($"unterminated {name}: field in {FilePath}: {Transcript.Escape(Raw, 600)}");
                }

                pos = eol + 2;
                if (pos >= text.Length || (text[pos] != ' ' && text[pos] != '\t'))
                {
                    return text[start..pos];
                }
            }
        }

        var returnPath = NextField("Return-Path");
        var deliveredTo = NextField("Delivered-To");
        var received = NextField("Received");
        return new TracedMessage(returnPath, deliveredTo, received, Raw[pos..]);
    }

    /// <summary>The unfolded value of the first <paramref name="name"/> field in the top header block, or null.</summary>
    public string? Header(string name)
    {
        var text = Text;
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = end < 0 ? text : text[..end];
        var lines = head.Split("\r\n");
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
            {
                var value = new StringBuilder(lines[i][(name.Length + 1)..]);
                for (var j = i + 1; j < lines.Length && lines[j].Length > 0 && (lines[j][0] == ' ' || lines[j][0] == '\t'); j++)
                {
                    value.Append(lines[j]);
                }

                return value.ToString().Trim();
            }
        }

        return null;
    }
}
