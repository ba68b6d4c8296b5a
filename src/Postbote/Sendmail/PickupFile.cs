using System.Text;

namespace Postbote.Host.Sendmail;

/// <summary>
/// A message dropped into <c>{data_dir}/pickup/</c> by <c>postbote sendmail</c> while the server is not running, for the
/// server to import into its spool (<see cref="PickupImporter"/>). The file is written under a name beginning with a dot,
/// flushed to disk, then renamed, so that the importer never sees half of it. Its format: the line
/// <c>postbote-pickup 1</c>, <c>from &lt;sender&gt;</c> (empty for the null reverse-path), one <c>to &lt;recipient&gt;</c>
/// per recipient, an empty line, then the message with CRLF line ends, not dot-stuffed.
/// </summary>
/// <param name="Sender">The envelope sender, empty for the null reverse-path.</param>
/// <param name="Recipients">The envelope recipients (at least one).</param>
/// <param name="Message">The message, header and body, CRLF line ends.</param>
public sealed record PickupFile(string Sender, IReadOnlyList<string> Recipients, byte[] Message)
{
    /// <summary>The folder in the data directory.</summary>
    public const string DirectoryName = "pickup";

    private const string Magic = "postbote-pickup 1";

    /// <summary>Writes the file into a pickup folder: a dot-name, fsync, rename, fsync of the folder.</summary>
    /// <param name="directory">The pickup folder; created (mode 0700, as the data directory) when missing.</param>
    /// <returns>The file's final path.</returns>
    /// <exception cref="IOException">The folder or the file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder may not be written.</exception>
    public string Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var head = new StringBuilder().Append(Magic).Append('\n').Append("from <").Append(Sender).Append(">\n");
        foreach (string r in Recipients) head.Append("to <").Append(r).Append(">\n");
        head.Append('\n');
        string name = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)
            + "-" + Guid.NewGuid().ToString("N")[..12];
        string temp = Path.Combine(directory, "." + name), final = Path.Combine(directory, name);
        using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            f.Write(Encoding.UTF8.GetBytes(head.ToString()));
            f.Write(Message);
            f.Flush(flushToDisk: true);
        }
        File.Move(temp, final);
        Postbote.IO.NativeMethods.FsyncDirectory(directory);
        return final;
    }

    /// <summary>Reads a pickup file.</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <returns>The message and its envelope.</returns>
    /// <exception cref="FormatException">Not a pickup file: the reason.</exception>
    public static PickupFile Parse(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        int at = 0;
        string Line()
        {
            int end = Array.IndexOf(bytes, (byte)'\n', at);
            if (end < 0 || end - at > 1024) throw new FormatException("the envelope does not end with an empty line");
            string line = Encoding.UTF8.GetString(bytes, at, end - at);
            at = end + 1;
            return line;
        }
        if (Line() != Magic) throw new FormatException($"the first line is not '{Magic}'");
        string from = Line();
        if (!from.StartsWith("from <", StringComparison.Ordinal) || !from.EndsWith('>')) throw new FormatException("no 'from <sender>' line");
        var to = new List<string>();
        for (string line = Line(); line.Length > 0; line = Line())
        {
            if (!line.StartsWith("to <", StringComparison.Ordinal) || !line.EndsWith('>') || line.Length < 6) throw new FormatException($"not a 'to <recipient>' line: {line}");
            to.Add(line[4..^1]);
        }
        if (to.Count == 0) throw new FormatException("no recipient");
        return new PickupFile(from[6..^1], to, bytes[at..]);
    }
}
