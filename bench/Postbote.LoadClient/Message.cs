using System.Text;

namespace Postbote.LoadClient;

/// <summary>Builds the wire form of a test message: a few headers, 78-character text lines, the end-of-data line.</summary>
internal static class Message
{
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
