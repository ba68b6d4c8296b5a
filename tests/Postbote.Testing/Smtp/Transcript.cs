using System.Text;

namespace Postbote.Testing.Smtp;

/// <summary>A C:/S: record of one SMTP conversation, client bytes escaped and truncated, for failure messages.</summary>
public sealed class Transcript
{
    private const int MaxChars = 64 * 1024;
    private readonly StringBuilder text = new();

    /// <summary>Records bytes the client sent.</summary>
    public void Client(ReadOnlySpan<byte> bytes) => Add("C: ", bytes);

    /// <summary>Records bytes the server sent.</summary>
    public void Server(ReadOnlySpan<byte> bytes) => Add("S: ", bytes);

    /// <summary>Records an event (connect, close, timeout).</summary>
    public void Note(string note) => Add("-- ", Encoding.UTF8.GetBytes(note));

    /// <inheritdoc/>
    public override string ToString()
    {
        lock (text)
        {
            return text.ToString();
        }
    }

    /// <summary>Bytes as printable ASCII with \r, \n, \0 and \xHH escapes, cut after <paramref name="max"/> bytes.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes, int max = 300)
    {
        var result = new StringBuilder();
        var shown = bytes.Length > max ? bytes[..max] : bytes;
        foreach (var b in shown)
        {
            result.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                0 => "\\0",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }

        if (bytes.Length > max)
        {
            result.Append($"…(+{bytes.Length - max} bytes)");
        }

        return result.ToString();
    }

    private void Add(string prefix, ReadOnlySpan<byte> bytes)
    {
        var line = prefix + Escape(bytes) + "\n";
        lock (text)
        {
            if (text.Length < MaxChars)
            {
                text.Append(line);
            }
        }
    }
}
