using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>
/// Several sessions sending uniquely marked messages to one mailbox in a loop, each recording per message whether it
/// was acknowledged, in doubt, refused or cut off before its final dot. Bounded in count and time.
/// </summary>
public sealed class LoadGenerator(int port, string mailbox, string runId)
{
    private int started;
    private int acknowledged;

    /// <summary>Outcome per Message-Id local part.</summary>
    public ConcurrentDictionary<string, MessageOutcome> Outcomes { get; } = new();

    /// <summary>For messages not acknowledged: the last step the client reached (MAIL, RCPT, DATA, body, dot).</summary>
    public ConcurrentDictionary<string, string> LastStep { get; } = new();

    /// <summary>The number of messages acknowledged so far.</summary>
    public int AcknowledgedCount => Volatile.Read(ref acknowledged);

    /// <summary>The number of messages started so far.</summary>
    public int StartedCount => Volatile.Read(ref started);

    /// <summary>Transcript snippets of sessions that ended with an unexpected reply.</summary>
    public ConcurrentBag<string> Problems { get; } = [];

    /// <summary>Runs <paramref name="sessions"/> sessions until the server goes away, <paramref name="maxMessages"/> were started, or <paramref name="maxDuration"/> passed.</summary>
    public Task RunAsync(int sessions, int maxMessages, TimeSpan maxDuration)
    {
        var clock = Stopwatch.StartNew();
        return Task.WhenAll(Enumerable.Range(0, sessions).Select(w => Task.Run(() => WorkerAsync(w, maxMessages, maxDuration, clock))));
    }

    private async Task WorkerAsync(int worker, int maxMessages, TimeSpan maxDuration, Stopwatch clock)
    {
        SmtpConnection? smtp = null;
        try
        {
            var seq = 0;
            while (clock.Elapsed < maxDuration && Interlocked.Increment(ref started) <= maxMessages)
            {
                if (smtp is null)
                {
                    smtp = await SmtpConnection.ConnectAsync(port, TimeSpan.FromSeconds(10));
                    if (smtp.Greeting.Code != 220 || (await smtp.CommandAsync("EHLO load.client.test")).Code != 250)
                    {
                        return;
                    }
                }

                var id = $"{runId}-w{worker}-{seq++}";
                Outcomes[id] = MessageOutcome.FailedBeforeDot;
                if (!await SendOneAsync(smtp, id))
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The server went away: the outcome recorded so far stands.
        }
        finally
        {
            smtp?.Dispose();
        }
    }

    /// <summary>One transaction; false when the session cannot go on.</summary>
    private async Task<bool> SendOneAsync(SmtpConnection smtp, string id)
    {
        var timeout = TimeSpan.FromSeconds(10);
        foreach (var (command, code) in new[] { ($"MAIL FROM:<load@example.org>", 250), ($"RCPT TO:<{mailbox}>", 250), ("DATA", 354) })
        {
            LastStep[id] = command.Split(' ')[0];
            var reply = await smtp.CommandAsync(command, timeout);
            if (reply.Code != code)
            {
                if (reply.Code > 0)
                {
                    Outcomes[id] = MessageOutcome.Refused;
                    Problems.Add($"{id}: {command} -> {reply}");
                    await smtp.CommandAsync("RSET", timeout);
                    return true;
                }

                return false;
            }
        }

        var head = $"From: <load@example.org>\r\nTo: <{mailbox}>\r\nSubject: {id}\r\nMessage-Id: <{id}@load.client.test>\r\n\r\n";
        var body = new StringBuilder();
        for (var i = 0; i < 40; i++)
        {
            body.Append(System.Globalization.CultureInfo.InvariantCulture, $"{id} line {i:D2} 0123456789abcdefghijklmnopqrstuvwxyz\r\n");
        }

        var text = body.ToString();
        LastStep[id] = "body";
        await smtp.SendAsync(Encoding.ASCII.GetBytes(head + text[..(text.Length / 2)]));
        await smtp.SendAsync(Encoding.ASCII.GetBytes(text[(text.Length / 2)..]));

        // From here on the server may have the whole message: in doubt until it answers.
        Outcomes[id] = MessageOutcome.InDoubt;
        LastStep[id] = "dot";
        await smtp.SendAsync(".\r\n"u8.ToArray());
        var final = await smtp.ReadReplyAsync(timeout);
        if (final.Code == 250)
        {
            LastStep.TryRemove(id, out _);
            Outcomes[id] = MessageOutcome.Acknowledged;
            Interlocked.Increment(ref acknowledged);
            return true;
        }

        if (final.Code > 0)
        {
            Outcomes[id] = MessageOutcome.Refused;
            Problems.Add($"{id}: end of data -> {final}");
            return final.Code != 421;
        }

        return false;
    }
}
