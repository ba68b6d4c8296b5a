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

    /// <summary>The file in new/ or cur/.</summary>
    public string FilePath { get; }

    /// <summary>The whole file.</summary>
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
