using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Postbote.Host.Logging;

namespace Postbote.Tests.Logging;

/// <summary>
/// The journal logger speaks systemd's native journal protocol to a datagram socket this test opens in place of
/// /run/systemd/journal/socket, and each entry about a message carries QUEUE_ID as a field of its own.
/// </summary>
public sealed class JournalLoggerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("postbote-journal-").FullName;
    private readonly Socket journal = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public JournalLoggerTests()
    {
        journal.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "socket")));
        journal.ReceiveTimeout = 10_000;
    }

    public void Dispose()
    {
        journal.Dispose();
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void AnEntryAboutOneMessageCarriesItsQueueIdAsAField()
    {
        using var provider = new JournalLoggerProvider(new JournalWriter(Path.Combine(dir, "socket")));
        ILogger log = provider.CreateLogger("Postbote.Queue.QueueScheduler");

        log.LogInformation("{QueueId}: to=<{Recipient}>, relay={Relay}, status=sent", "4BC1D2F3G4H5J6K7", "bob@example.net", "local");

        Dictionary<string, string> fields = Receive();
        Assert.Equal("4BC1D2F3G4H5J6K7: to=<bob@example.net>, relay=local, status=sent", fields["MESSAGE"]);
        Assert.Equal("4BC1D2F3G4H5J6K7", fields["QUEUE_ID"]);
        Assert.Equal("6", fields["PRIORITY"]);
        Assert.Equal("postbote", fields["SYSLOG_IDENTIFIER"]);
        Assert.Equal("Postbote.Queue.QueueScheduler", fields["POSTBOTE_CATEGORY"]);
        Assert.Equal(5, fields.Count);
    }

    [Fact]
    public void AnEntryAboutNoMessageHasNoQueueIdAndAWarningIsPriorityFour()
    {
        using var provider = new JournalLoggerProvider(new JournalWriter(Path.Combine(dir, "socket")));

        provider.CreateLogger("Postbote").LogWarning("local.domains is now called {New}", "x");

        Dictionary<string, string> fields = Receive();
        Assert.False(fields.ContainsKey("QUEUE_ID"));
        Assert.Equal("4", fields["PRIORITY"]);
    }

    [Fact]
    public void AValueWithALineFeedIsSentWithItsLengthAsTheProtocolAsks()
    {
        byte[] datagram = JournalWriter.Encode([new("MESSAGE", "two\nlines"), new("PRIORITY", "3")]);

        byte[] expected = [.. "MESSAGE\n"u8, 9, 0, 0, 0, 0, 0, 0, 0, .. "two\nlines\n"u8, .. "PRIORITY=3\n"u8];
        Assert.Equal(expected, datagram);
        Assert.Throws<ArgumentException>(() => JournalWriter.Encode([new("_PID", "1")]));
        Assert.Throws<ArgumentException>(() => JournalWriter.Encode([new("queue_id", "1")]));
    }

    [Fact]
    public void AJournalThatIsGoneLosesTheEntryNotTheServer()
    {
        using var writer = new JournalWriter(Path.Combine(dir, "nothing-here"));
        Assert.False(writer.Send([new("MESSAGE", "x")]));
    }

    /// <summary>One datagram, decoded field by field (both the NAME=value and the NAME\n length value forms).</summary>
    private Dictionary<string, string> Receive()
    {
        var buffer = new byte[65536];
        int n = journal.Receive(buffer);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        int i = 0;
        while (i < n)
        {
            int end = Array.IndexOf(buffer, (byte)'\n', i, n - i);
            int eq = Array.IndexOf(buffer, (byte)'=', i, end - i);
            if (eq >= 0)
            {
                fields.Add(Encoding.ASCII.GetString(buffer, i, eq - i), Encoding.UTF8.GetString(buffer, eq + 1, end - eq - 1));
                i = end + 1;
            }
            else
            {
                string name = Encoding.ASCII.GetString(buffer, i, end - i);
                int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(end + 1, 8));
                fields.Add(name, Encoding.UTF8.GetString(buffer, end + 9, length));
                i = end + 9 + length + 1;
            }
        }
        return fields;
    }
}
