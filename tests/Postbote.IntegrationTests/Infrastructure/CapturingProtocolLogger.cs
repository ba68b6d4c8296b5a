using System.Text;
using MailKit;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// Keeps every byte a MailKit client wrote, each write separately, so a test can see the message exactly as it went
/// over the wire (after DATA, dot-unstuffed; or the BDAT chunks joined) and whether commands were pipelined.
/// </summary>
public sealed class CapturingProtocolLogger : IProtocolLogger
{
    private readonly List<byte[]> clientWrites = [];
    private readonly StringBuilder server = new();

    /// <inheritdoc/>
    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    /// <summary>The client's writes, in order.</summary>
    public IReadOnlyList<byte[]> ClientWrites => clientWrites;

    /// <summary>Everything the server sent.</summary>
    public string ServerText => server.ToString();

    /// <summary>Everything the client sent.</summary>
    public byte[] ClientBytes => clientWrites.SelectMany(w => w).ToArray();

    /// <summary>The commands the client sent (lines outside message content).</summary>
    public List<string> Commands { get; } = [];

    /// <inheritdoc/>
    public void LogConnect(Uri uri)
    {
    }

    /// <inheritdoc/>
    public void LogClient(byte[] buffer, int offset, int count) => clientWrites.Add(buffer.AsSpan(offset, count).ToArray());

    /// <inheritdoc/>
    public void LogServer(byte[] buffer, int offset, int count) => server.Append(Encoding.UTF8.GetString(buffer, offset, count));

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    /// <summary>
    /// The messages in the client's byte stream: after "DATA" the lines up to CRLF . CRLF, dot-unstuffed; after
    /// "BDAT n [LAST]" the n bytes of each chunk, joined until LAST. Fills <see cref="Commands"/>.
    /// </summary>
    public List<byte[]> MessagePayloads()
    {
        Commands.Clear();
        var bytes = ClientBytes;
        var payloads = new List<byte[]>();
        var bdat = new List<byte>();
        var pos = 0;
        while (pos < bytes.Length)
        {
            var line = ReadLine(bytes, ref pos);
            var command = Encoding.ASCII.GetString(line).TrimEnd('\r', '\n');
            Commands.Add(command);
            if (command.Equals("DATA", StringComparison.OrdinalIgnoreCase))
            {
                var message = new List<byte>();
                while (pos < bytes.Length)
                {
                    var dataLine = ReadLine(bytes, ref pos);
                    if (dataLine.AsSpan().SequenceEqual(".\r\n"u8))
                    {
                        break;
                    }

                    message.AddRange(dataLine[0] == '.' ? dataLine[1..] : dataLine);
                }

                payloads.Add(message.ToArray());
            }
            else if (command.StartsWith("BDAT ", StringComparison.OrdinalIgnoreCase))
            {
                var parts = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var size = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                bdat.AddRange(bytes.AsSpan(pos, size).ToArray());
                pos += size;
                if (parts.Length > 2 && parts[2].Equals("LAST", StringComparison.OrdinalIgnoreCase))
                {
                    payloads.Add(bdat.ToArray());
                    bdat.Clear();
                }
            }
        }

        return payloads;
    }

    private static byte[] ReadLine(byte[] bytes, ref int pos)
    {
        var end = Array.IndexOf(bytes, (byte)'\n', pos);
        end = end < 0 ? bytes.Length : end + 1;
        var line = bytes[pos..end];
        pos = end;
        return line;
    }
}
