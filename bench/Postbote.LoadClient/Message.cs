using System.Text;

namespace Postbote.LoadClient;

/// <summary>Builds the wire form of a test message: a few headers, 78-character text lines, the end-of-data line.</summary>
internal static class Message
{
    /// <summary>The wire form of the message in <paramref name="path"/>: every line ending made CRLF, lines starting
    /// with a dot doubled (RFC 5321 §4.5.2), then the end-of-data line. The bytes of the lines are sent unchanged, so
    /// a DKIM signature made over the file (with CRLF line endings) still verifies.</summary>
    public static byte[] FromFile(string path)
    {
        byte[] raw = File.ReadAllBytes(path);
        var o = new MemoryStream(raw.Length + raw.Length / 40 + 8);
        bool lineStart = true;
        for (int i = 0; i < raw.Length; i++)
        {
            byte c = raw[i];
            if (lineStart && c == (byte)'.') o.WriteByte((byte)'.');
            if (c == (byte)'\n')
            {
                o.Write("\r\n"u8);
                lineStart = true;
                continue;
            }
            if (c == (byte)'\r' && i + 1 < raw.Length && raw[i + 1] == (byte)'\n') continue;
            o.WriteByte(c);
            lineStart = false;
        }
        if (!lineStart) o.Write("\r\n"u8);
        o.Write(".\r\n"u8);
        return o.ToArray();
    }

    /// <summary>The message as sent after the 354 reply, ending in <c>CRLF . CRLF</c>; about <paramref name="size"/>
    /// body bytes (whole lines), no line starts with a dot.</summary>
    public static byte[] Body(int size, string from, string to)
    {
        string headers = $"From: <{from}>\r\nTo: <{to}>\r\nSubject: load\r\nMessage-Id: <load@loadclient.test>\r\n\r\n";
        int lines = Math.Max(1, size / 80);
        byte[] b = new byte[headers.Length + lines * 80 + 3];
        int p = Encoding.ASCII.GetBytes(headers, b);
        for (int l = 0; l < lines; l++)
        {
            b.AsSpan(p, 78).Fill((byte)'x');
            b[p + 78] = (byte)'\r';
            b[p + 79] = (byte)'\n';
            p += 80;
        }
        ".\r\n"u8.CopyTo(b.AsSpan(p));
        return b;
    }
}
