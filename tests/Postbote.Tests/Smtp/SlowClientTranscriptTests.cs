using System.Diagnostics;
using System.Text;

namespace Postbote.Tests.Smtp;

/// <summary>
/// Clients that send too slowly to be worth their connection get <c>421 4.4.2</c> (RFC 5321 §3.8, §4.5.3.2): a BDAT
/// transaction made of tiny chunks far apart (the minimum data rate covers the whole transaction, RFC 3030), and a
/// command line dripped one octet at a time (the command line timeout).
/// </summary>
public class SlowClientTranscriptTests
{
    /// <summary>Sends <paramref name="bytes"/>, or nothing when the server has closed already.</summary>
    private static async Task TrySendAsync(SmtpConnection c, string bytes)
    {
        try
        {
            await c.SendAsync(Encoding.ASCII.GetBytes(bytes));
        }
        catch (IOException)
        {
            // Closed after its 421: the pending read has it.
        }
    }

    [Fact]
    public async Task BdatInTinyChunksFarApartIsCutOffByTheMinimumDataRate_Rfc3030()
    {
        await using var server = await SmtpTestServer.StartAsync(o =>
        {
            o.Limits.MinDataRate = 100;
            o.Limits.MinDataRateGracePeriod = TimeSpan.FromSeconds(1);
        });
        using var c = await server.ConnectAsync();
        await c.ExchangeAsync("EHLO client.example.org\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<rcpt@example.com>\r\n", 3);
        var clock = Stopwatch.StartNew();
        string? closing = null;
        Task<string> next = c.ReadRepliesAsync(1);
        // 2 octets every 1.5 s: about 1.3 B/s against a minimum of 100 B/s. At most 8 chunks (12 s).
        for (int i = 1; i <= 8 && closing is null; i++)
        {
            await TrySendAsync(c, "BDAT 2\r\nab");
            string reply = await next;
            if (reply.StartsWith("421", StringComparison.Ordinal)) { closing = reply; break; }
            Assert.Equal($"250 2.0.0 {2 * i} octets received\r\n", reply);
            next = c.ReadRepliesAsync(1);
            if (await Task.WhenAny(next, Task.Delay(1500)) == next) closing = await next;
        }
        Assert.Equal("421 4.4.2 Error: data rate below minimum, closing transmission channel\r\n", closing);
        Assert.Equal("<closed>", await c.ReadRepliesAsync(1));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"cut off only after {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Empty(server.Spool.List());
    }

    [Fact]
    public async Task CommandLineDrippedOctetByOctetIsCutOff()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.CommandLineTimeout = TimeSpan.FromSeconds(2));
        using var c = await server.ConnectAsync();
        var clock = Stopwatch.StartNew();
        Task<string> reply = c.ReadRepliesAsync(1);
        // One octet every 0.5 s (each restarts the idle timeout), at most 16 of them (8 s).
        foreach (char octet in "NOOP aaaaaaaaaaa")
        {
            await TrySendAsync(c, octet.ToString());
            if (await Task.WhenAny(reply, Task.Delay(500)) == reply) break;
        }
        Assert.True(reply.IsCompleted, "no reply while a command line took 8 s to arrive");
        Assert.Equal("421 4.4.2 Error: command line timeout exceeded, closing transmission channel\r\n", await reply);
        Assert.Equal("<closed>", await c.ReadRepliesAsync(1));
        Assert.InRange(clock.Elapsed.TotalSeconds, 2, 5);
    }

    [Fact]
    public async Task CommandLineTimeoutRunsOnlyWhileALineIsIncomplete()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.CommandLineTimeout = TimeSpan.FromSeconds(1));
        using var c = await server.ConnectAsync();
        Assert.Equal("250 2.0.0 Ok\r\n", await c.ExchangeAsync("NOOP\r\n"));
        await Task.Delay(2500); // idle between commands: only idle_timeout applies
        await c.SendAsync("NO"u8.ToArray());
        await Task.Delay(500);  // a line split over two reads, within the timeout
        Assert.Equal("250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n", await c.ExchangeAsync("OP\r\nNOOP\r\n", 2));
    }
}
