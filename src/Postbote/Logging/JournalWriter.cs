using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Postbote.Host.Logging;

/// <summary>
/// Sends entries to the systemd journal in its native protocol: one datagram per entry on the unix socket
/// <c>/run/systemd/journal/socket</c>, each field <c>NAME=value\n</c>, or, for a value with a line feed in it,
/// <c>NAME\n</c>, the value's length as a 64-bit little-endian integer, the value and <c>\n</c> (systemd's
/// "Native Journal Protocol"). Field names are upper-case letters, digits and underscores, not starting with an
/// underscore (those are the journal's own). An entry that would exceed <see cref="MaxDatagram"/> octets has its MESSAGE
/// cut. Sending never throws: a journal that is gone loses the entry, not the server.
/// </summary>
public sealed class JournalWriter : IDisposable
{
    /// <summary>Where journald listens for native entries.</summary>
    public const string DefaultSocketPath = "/run/systemd/journal/socket";

    /// <summary>The largest datagram sent: 64 KiB less room for headers (larger entries would need a memfd).</summary>
    public const int MaxDatagram = 60 * 1024;

    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endPoint;
    private readonly Lock _gate = new();

    /// <summary>Creates a writer for a journal socket.</summary>
    /// <param name="socketPath">The socket; <see cref="DefaultSocketPath"/> for the system's journal.</param>
    /// <exception cref="ArgumentException"><paramref name="socketPath"/> is empty.</exception>
    public JournalWriter(string socketPath = DefaultSocketPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        SocketPath = socketPath;
        _endPoint = new UnixDomainSocketEndPoint(socketPath);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>The socket entries go to.</summary>
    public string SocketPath { get; }

    /// <summary>Whether the process should log to the journal: <c>JOURNAL_STREAM</c> is set (systemd connected standard
    /// error to the journal) and the journal's socket exists.</summary>
    /// <returns><c>true</c> under systemd with a journal.</returns>
    public static bool IsAvailable() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")) && File.Exists(DefaultSocketPath);

    /// <summary>Encodes one entry in the native protocol.</summary>
    /// <param name="fields">Name and value pairs; a <c>null</c> value leaves the field out.</param>
    /// <returns>The datagram.</returns>
    /// <exception cref="ArgumentException">A field name that the journal would refuse.</exception>
    public static byte[] Encode(IEnumerable<KeyValuePair<string, string?>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        using var buffer = new MemoryStream();
        Span<byte> length = stackalloc byte[8];
        foreach (var (name, value) in fields)
        {
            if (value is null) continue;
            if (name.Length == 0 || name[0] == '_' || !name.All(static ch => ch is >= 'A' and <= 'Z' or >= '0' and <= '9' or '_'))
                throw new ArgumentException($"'{name}' is not a journal field name", nameof(fields));
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            int room = MaxDatagram - (int)buffer.Length - name.Length - 10;
            if (room <= 0) break;
            if (bytes.Length > room) bytes = bytes[..room];
            buffer.Write(Encoding.ASCII.GetBytes(name));
            if (Array.IndexOf(bytes, (byte)'\n') < 0)
            {
                buffer.WriteByte((byte)'=');
                buffer.Write(bytes);
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)bytes.Length);
                buffer.WriteByte((byte)'\n');
                buffer.Write(length);
                buffer.Write(bytes);
            }
            buffer.WriteByte((byte)'\n');
        }
        return buffer.ToArray();
    }

    /// <summary>Sends one entry.</summary>
    /// <param name="fields">Name and value pairs (see <see cref="Encode"/>).</param>
    /// <returns>Whether the journal took it.</returns>
    public bool Send(IEnumerable<KeyValuePair<string, string?>> fields)
    {
        byte[] datagram = Encode(fields);
        try
        {
            lock (_gate)
            {
                return _socket.SendTo(datagram, SocketFlags.None, _endPoint) == datagram.Length;
            }
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Closes the socket.</summary>
    public void Dispose() => _socket.Dispose();
}
