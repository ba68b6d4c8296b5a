using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postbote.LoadClient;

/// <summary>
/// SMTP load client for loopback benchmarks. Mode <c>pipeline</c>: N sessions each send EHLO once, then messages with
/// PIPELINING (RFC 2920 §3.1): the end of one message's data, the next MAIL, RCPT and DATA go out in one write, so each
/// message costs one round trip. Mode <c>big</c>: one session, one message of the given size, timing the reply to the
/// final dot. Every run is bounded by a message count and a timeout; only loopback addresses are accepted.
/// </summary>
public static class Program
{
    private const string Usage =
        "pb-loadclient HOST:PORT [--mode pipeline|big] [--sessions N] [--messages M] [--size BYTES] [--timeout S]\n" +
        "              [--from ADDR] [--to ADDR] [--label TEXT] [--message FILE]";

    /// <summary>Runs the client.</summary>
    /// <param name="args">Command-line arguments (see the usage text).</param>
    /// <returns>0 when every message was accepted, 1 otherwise, 2 on a usage error.</returns>
    public static async Task<int> Main(string[] args)
    {
        Options? o = Options.Parse(args);
        if (o is null)
        {
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(o.TimeoutSeconds));
        return o.Mode == "big" ? await BigAsync(o, cts.Token).ConfigureAwait(false)
            : await PipelineAsync(o, cts.Token).ConfigureAwait(false);
    }

    private static async Task<int> PipelineAsync(Options o, CancellationToken ct)
    {
        byte[] body = o.MessageFile is null ? Message.Body(o.Size, o.From, o.To) : Message.FromFile(o.MessageFile);
        long remaining = o.Messages;
        long accepted = 0, failed = 0;
        string? firstError = null;
        var sw = Stopwatch.StartNew();
        var sessions = new Task[o.Sessions];
        for (int i = 0; i < sessions.Length; i++)
        {
            sessions[i] = Task.Run(async () =>
            {
                try
                {
                    await using var s = await SmtpConnection.OpenAsync(o.Endpoint, ct).ConfigureAwait(false);
                    await s.ExpectAsync(220, ct).ConfigureAwait(false);
                    await s.SendAsync(Encoding.ASCII.GetBytes("EHLO loadclient.test\r\n"), ct).ConfigureAwait(false);
                    await s.ExpectAsync(250, ct).ConfigureAwait(false);
                    byte[] envelope = Encoding.ASCII.GetBytes($"MAIL FROM:<{o.From}>\r\nRCPT TO:<{o.To}>\r\nDATA\r\n");
                    if (Interlocked.Decrement(ref remaining) < 0) return;
                    // First group: MAIL, RCPT, DATA.
                    await s.SendAsync(envelope, ct).ConfigureAwait(false);
                    while (true)
                    {
                        await s.ExpectAsync(250, ct).ConfigureAwait(false);
                        await s.ExpectAsync(250, ct).ConfigureAwait(false);
                        await s.ExpectAsync(354, ct).ConfigureAwait(false);
                        bool more = Interlocked.Decrement(ref remaining) >= 0;
                        // Body and end of data, then (RFC 2920 §3.1) the next MAIL, RCPT and DATA in the same write.
                        await s.SendAsync(body, more ? envelope : null, ct).ConfigureAwait(false);
                        int code = await s.ReadReplyAsync(ct).ConfigureAwait(false);
                        if (code / 100 == 2) Interlocked.Increment(ref accepted);
                        else Interlocked.Increment(ref failed);
                        if (!more) break;
                    }
                    await s.SendAsync("QUIT\r\n"u8.ToArray(), ct).ConfigureAwait(false);
                    await s.ReadReplyAsync(ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ProtocolException)
                {
                    Interlocked.CompareExchange(ref firstError, e.GetType().Name + ": " + e.Message, null);
                }
            }, CancellationToken.None);
        }
        await Task.WhenAll(sessions).ConfigureAwait(false);
        double secs = sw.Elapsed.TotalSeconds;
        string status = accepted >= o.Messages ? "ok" : ct.IsCancellationRequested ? "timeout" : "error";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"msgs={accepted} sessions={o.Sessions} size={(o.MessageFile is null ? o.Size : body.Length - 3)} secs={secs:F3} msgs_per_s={accepted / secs:F1} mode=pipeline failed={failed} requested={o.Messages} status={status} target={o.Endpoint}{Label(o)}"));
        if (firstError is not null) await Console.Error.WriteLineAsync("pb-loadclient: " + firstError).ConfigureAwait(false);
        return status == "ok" ? 0 : 1;
    }

    private static async Task<int> BigAsync(Options o, CancellationToken ct)
    {
        byte[] body = Message.Body(o.Size, o.From, o.To);
        var sw = Stopwatch.StartNew();
        try
        {
            await using var s = await SmtpConnection.OpenAsync(o.Endpoint, ct).ConfigureAwait(false);
            await s.ExpectAsync(220, ct).ConfigureAwait(false);
            await s.SendAsync(Encoding.ASCII.GetBytes("EHLO loadclient.test\r\n"), ct).ConfigureAwait(false);
            await s.ExpectAsync(250, ct).ConfigureAwait(false);
            await s.SendAsync(Encoding.ASCII.GetBytes($"MAIL FROM:<{o.From}>\r\n"), ct).ConfigureAwait(false);
            await s.ExpectAsync(250, ct).ConfigureAwait(false);
            await s.SendAsync(Encoding.ASCII.GetBytes($"RCPT TO:<{o.To}>\r\n"), ct).ConfigureAwait(false);
            await s.ExpectAsync(250, ct).ConfigureAwait(false);
            await s.SendAsync("DATA\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            await s.ExpectAsync(354, ct).ConfigureAwait(false);
            double start = sw.Elapsed.TotalSeconds;
            await s.SendAsync(body, null, ct).ConfigureAwait(false);
            double sent = sw.Elapsed.TotalSeconds;
            int code = await s.ReadReplyAsync(ct).ConfigureAwait(false);
            double done = sw.Elapsed.TotalSeconds;
            await s.SendAsync("QUIT\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mode=big size={o.Size} reply={code} data_secs={done - start:F3} after_dot_ms={(done - sent) * 1000:F1} total_secs={done:F3} status={(code == 250 ? "ok" : "error")} target={o.Endpoint}{Label(o)}"));
            return code == 250 ? 0 : 1;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ProtocolException)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mode=big size={o.Size} status=error error={e.GetType().Name} total_secs={sw.Elapsed.TotalSeconds:F3} target={o.Endpoint}{Label(o)}"));
            return 1;
        }
    }

    private static string Label(Options o) => o.Label is null ? "" : " label=" + o.Label;
}
